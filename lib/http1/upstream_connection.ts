/**
 * One TCP (or TLS) connection to the server with a read buffer of its own: the HTTP/1.1 client
 * parses response heads and chunk framing straight out of it and copies out only body bytes.
 *
 * Two things keep a connection honest between exchanges:
 * - **Idle watch.** While a connection waits in the pool, a read is pending on it. Any byte or
 *   end of stream that arrives while it is idle cannot belong to a request (none was sent), so the
 *   connection is closed at once and never handed out. When the connection is taken for a request
 *   before anything arrived, that pending read becomes the request's first read.
 * - **Deadline.** The client arms a deadline while it waits on the server (response head, a pause
 *   in the body, a write the server does not take); a sweeper closes connections whose deadline
 *   passed, and the pending read or write then fails with {@linkcode Http1TimeoutError}.
 *
 * @module
 */

import { Http1TimeoutError, type TimeoutPhase } from "./http1_timeout_error.ts";

/** Where the connections go. */
export interface ConnectionTarget {
  /** The host name or IP address to connect to (IPv6 without brackets). */
  readonly hostname: string;
  /** The TCP port. */
  readonly port: number;
  /** Whether to connect with TLS (`https:`) rather than plain TCP. */
  readonly tls: boolean;
}

const SMALL_BUFFER = 1024;
/**
 * Largest read buffer for a body. Every piece read is copied out and becomes garbage once sent,
 * and the collector runs about as often per piece as per byte: a 60 MB body raised the peak RSS
 * by 29 MiB in 64 KiB pieces and by 19 MiB in 32 KiB pieces, at the same speed (16 KiB: 16 MiB,
 * 20 % slower).
 */
const LARGE_BUFFER = 32 * 1024;

/** What the idle read ended with: bytes (`true`), end of stream (`false`), or a failure. */
type ReadOutcome = boolean | { readonly error: unknown };

/**
 * A connection with buffered reads. The buffer starts small, because thousands of slow streams
 * each hold one while they wait for their next chunk (an NDJSON or SSE chunk is a few hundred
 * bytes), and doubles, up to 32 KiB, whenever a read fills it (a large body is arriving), or as
 * far as needed to hold one unfinished item the parser asked to keep whole (a response head).
 */
export class UpstreamConnection {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(SMALL_BUFFER);
  #start = 0;
  #end = 0;
  #closed = false;
  #onClose: (connection: UpstreamConnection) => void;
  /** The read started while idle, not yet handed to a request. */
  #idleRead: Promise<ReadOutcome> | undefined;
  #idle = false;
  /** `performance.now()` after which the connection is closed, or 0. */
  #deadline = 0;
  #phase: TimeoutPhase = "idle";
  #limitMs = 0;
  #timedOut: Http1TimeoutError | undefined;
  /** Bytes read since {@linkcode UpstreamConnection.resetReadCount} was last called. */
  bytesRead = 0;

  private constructor(conn: Deno.Conn, onClose: (connection: UpstreamConnection) => void) {
    this.#conn = conn;
    this.#onClose = onClose;
  }

  /**
   * Connects to `target`; `onClose` is called once when the connection is closed. Throws what
   * `Deno.connect` throws (connection refused, unknown host), or {@linkcode Http1TimeoutError}
   * when `timeoutMs` (0: none) passed first.
   */
  static async open(
    target: ConnectionTarget,
    options: { onClose: (connection: UpstreamConnection) => void; timeoutMs?: number },
  ): Promise<UpstreamConnection> {
    const ms = options.timeoutMs ?? 0;
    const controller = ms > 0 ? new AbortController() : undefined;
    const timer = controller ? setTimeout(() => controller.abort(), ms) : undefined;
    const signal = controller ? { signal: controller.signal } : {};
    let conn: Deno.Conn;
    try {
      conn = target.tls
        ? await Deno.connectTls({ hostname: target.hostname, port: target.port, ...signal })
        : await Deno.connect({ hostname: target.hostname, port: target.port, ...signal });
    } catch (error) {
      if (controller?.signal.aborted) throw new Http1TimeoutError("connect", { ms });
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (!target.tls) (conn as Deno.TcpConn).setNoDelay(true);
    return new UpstreamConnection(conn, options.onClose);
  }

  /** Whether the connection has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many bytes are buffered and not consumed yet. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** The buffered bytes, as a view that is valid until the next {@linkcode fill}. */
  view(): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#end);
  }

  /** Marks `count` buffered bytes as consumed. */
  consume(count: number): void {
    this.#start += count;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /** Starts counting {@linkcode bytesRead} afresh (at the start of each request). */
  resetReadCount(): void {
    this.bytesRead = 0;
  }

  /**
   * Puts the connection to rest in the pool (its buffer must be empty): a read is started, and
   * whatever it brings while the connection rests (a byte, the end of the stream, an error)
   * closes the connection.
   */
  rest(): void {
    this.#idle = true;
    this.#deadline = 0;
    this.#idleRead = this.#read(LARGE_BUFFER).then((more): ReadOutcome => {
      if (this.#idle) this.close();
      return more;
    }, (error): ReadOutcome => {
      if (this.#idle) this.close();
      return { error };
    });
  }

  /** Takes the connection out of the pool for a request; its idle read becomes its first read. */
  wake(): void {
    this.#idle = false;
  }

  /**
   * Arms the deadline: the connection is closed when `ms` (0: no limit) pass before
   * {@linkcode disarm}, and what was pending fails with a timeout of `phase`.
   */
  arm(phase: TimeoutPhase, ms: number): void {
    if (ms <= 0) return;
    this.#phase = phase;
    this.#limitMs = ms;
    this.#deadline = performance.now() + ms;
  }

  /** Clears the deadline. */
  disarm(): void {
    this.#deadline = 0;
  }

  /** Closes the connection when its deadline has passed; called by the client's sweeper. */
  expire(now: number): void {
    if (this.#deadline === 0 || now < this.#deadline || this.#closed) return;
    this.#timedOut = new Http1TimeoutError(this.#phase, { ms: this.#limitMs });
    this.close();
  }

  /**
   * Reads more bytes into the buffer, keeping what is buffered. Returns `false` when the peer
   * closed the connection. `limit` bounds how large the buffer may grow to keep an item whole.
   */
  fill(limit: number = LARGE_BUFFER): Promise<boolean> {
    const idleRead = this.#idleRead;
    if (idleRead !== undefined) {
      this.#idleRead = undefined;
      return idleRead.then((outcome) => {
        if (typeof outcome === "boolean") return outcome;
        throw this.#failure(outcome.error);
      });
    }
    return this.#read(limit).catch((error) => {
      throw this.#failure(error);
    });
  }

  /** Reads straight into `target` (the buffer must be empty); `null` when the peer closed. */
  async readInto(target: Uint8Array): Promise<number | null> {
    if (this.#idleRead !== undefined) throw new Error("readInto while the idle read is pending");
    try {
      const count = await this.#conn.read(target);
      if (count === null && this.#timedOut) throw this.#timedOut;
      if (count !== null) this.bytesRead += count;
      return count;
    } catch (error) {
      throw this.#failure(error);
    }
  }

  /** Writes every byte of `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    try {
      while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
    } catch (error) {
      throw this.#failure(error);
    }
  }

  /** Closes the connection (again is a no-op); a pending read or write fails. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#idle = false;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime.
    }
    this.#onClose(this);
  }

  /** The error to report for `error`: the timeout when the deadline closed the connection. */
  #failure(error: unknown): unknown {
    return this.#timedOut ?? error;
  }

  #read(limit: number): Promise<boolean> {
    // Not an async function: a slow stream waits here between chunks, and a plain promise chain
    // holds less memory while it waits than a suspended async frame.
    if (this.#end === this.#buffer.length) {
      try {
        this.#makeRoom(limit);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const room = this.#buffer.length - this.#end;
    return this.#conn.read(this.#buffer.subarray(this.#end)).then((count) => {
      if (count === null) {
        if (this.#timedOut) throw this.#timedOut;
        return false;
      }
      this.#end += count;
      this.bytesRead += count;
      if (count === room && this.#buffer.length < LARGE_BUFFER) {
        this.#grow(this.#buffer.length * 2);
      }
      return true;
    });
  }

  #makeRoom(limit: number): void {
    if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
      return;
    }
    if (this.#buffer.length >= limit) {
      throw new RangeError(`an item in the response is larger than ${limit} bytes`);
    }
    this.#grow(Math.min(limit, this.#buffer.length * 2));
  }

  #grow(size: number): void {
    const larger = new Uint8Array(size);
    larger.set(this.#buffer.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buffer = larger;
  }
}
