/**
 * A small HTTP/1.1 client for the one server the proxy talks to, with a pool of kept-alive
 * connections. It exists because `fetch` costs more JavaScript per request than everything else
 * the proxy does together (a `Request`, a `Headers` copy and an abort signal per call, a
 * `Response` and a body stream per answer): here a request is one write of bytes built once, and
 * the answer a head parsed from the connection's buffer, with the body read on demand.
 *
 * A proxy in front of a shared server must never hand one client's answer to another, run a
 * request twice, or hold resources for a peer that went quiet. What this client guarantees,
 * modelled on Go's `net/http` Transport and nginx's upstream module:
 *
 * 1. **Clean reuse only.** A connection goes back to the pool only after a response whose framing
 *    was complete and unambiguous, with nothing received past its end, whose request was written
 *    whole (and, for a large body, not refused with an error status, as the server may not have
 *    read it), and that did not say `Connection: close` (or come as HTTP/1.0 without keep-alive).
 * 2. **Idle watch.** A pooled connection has a read pending; any byte or end of stream that
 *    arrives while it rests closes it, and it is never handed out ("unsolicited response on an
 *    idle connection", as Go's Transport calls it).
 * 3. **Any framing doubt closes the connection**: a malformed or unrepresentable head (status
 *    outside 100–599, a header name that is not a token, a control character in a value, both
 *    `Content-Length` and `Transfer-Encoding`, conflicting lengths, 101, more than
 *    {@linkcode MAX_INTERIM} interim answers or heads over 64 KiB) rejects with
 *    `MalformedResponseError`; a broken body with `BodyReadError`.
 * 4. **No replay of effects.** A request is sent again, once and on a fresh connection, only when
 *    its method is idempotent (GET, HEAD, OPTIONS), its body can be sent again, it went out on a
 *    pooled connection, and not one byte of an answer came back.
 * 5. **Time limits** (each optional): opening a connection, the response head (from the end of
 *    the request), and any pause while waiting on the server inside the body or while it does not
 *    take the request body. A limit that runs out closes the connection and rejects with
 *    {@linkcode Http1TimeoutError}. Time the consumer takes to read the body does not count.
 * 6. **Early answers.** A large or streamed request body is written while the answer is read; an
 *    answer that comes before the body was taken whole (413, or an error and close) is returned,
 *    writing stops, and the connection is not reused.
 * 7. **Everything is released.** Every path closes or pools the connection it took: a response
 *    read to its end, cancelled, failed, timed out, or aborted by the request's signal (which
 *    covers the body too). A request without a body goes out with no framing header.
 *
 * @module
 */

import type { HeaderPairs } from "./header_pairs.ts";
import {
  encodeRequestHead,
  findHeadEnd,
  MalformedResponseError,
  parseResponseHead,
  type ResponseHead,
} from "./http1_head.ts";
import { Http1TimeoutError } from "./http1_timeout_error.ts";
import { type ConnectionTarget, UpstreamConnection } from "./upstream_connection.ts";
import { UpstreamResponse } from "./upstream_response.ts";

export { Http1TimeoutError } from "./http1_timeout_error.ts";

/** Largest response head accepted; interim heads before the final one count together. */
const MAX_HEAD = 64 * 1024;
/** Most interim (1xx) answers accepted before the final one. */
const MAX_INTERIM = 10;
/** Request bodies up to this size are written together with the head, in one write. */
const JOINED_WRITE = 64 * 1024;
/** Large request bodies given as bytes are written in pieces of this size. */
const WRITE_PIECE = 64 * 1024;
/** Methods whose request may be sent again when a pooled connection fails before any answer. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS"]);
const encoder = new TextEncoder();
/** The end of a chunked request body (no trailers). */
const LAST_CHUNK = encoder.encode("0\r\n\r\n");
/** Chunks of a chunked request body up to this size are copied into one framed write. */
const FRAME_COPY_LIMIT = 16 * 1024;
const CRLF = encoder.encode("\r\n");

/** What one request carries. */
export interface Http1RequestOptions {
  /** Header fields to send (no `host`, framing or hop-by-hop fields: the client adds its own). */
  readonly headers: HeaderPairs;
  /**
   * The body: bytes, a stream (sent with `contentLength` when given, else chunked), or none (no
   * framing header is sent).
   */
  readonly body?: Uint8Array | ReadableStream<Uint8Array> | null;
  /** The length of a stream body, when the client announced one. */
  readonly contentLength?: number;
  /** Aborts the request, and later the reading of its body (the connection is closed). */
  readonly signal?: AbortSignal;
}

/** Time limits of the client, in milliseconds; 0 or absent means no limit. */
export interface Http1Timeouts {
  /** To open a connection. */
  readonly connectMs?: number;
  /** From the end of writing the request to the end of the response head. */
  readonly headMs?: number;
  /** Any pause while waiting on the server: inside the body, or for it to take the request. */
  readonly idleMs?: number;
}

/** Sends requests to one origin over pooled HTTP/1.1 connections. */
export class Http1Client {
  #target: ConnectionTarget;
  #host: string;
  #idle: UpstreamConnection[] = [];
  #live = new Set<UpstreamConnection>();
  #maxIdle: number;
  #closed = false;
  #connectMs: number;
  #headMs: number;
  #idleMs: number;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #release = (connection: UpstreamConnection) => this.#keep(connection);
  #forget = (connection: UpstreamConnection) => this.#drop(connection);

  /**
   * Creates a client for `origin`; no connection is opened until the first request.
   *
   * @param origin `http:` or `https:` origin of the server.
   * @param options `maxIdle` bounds the connections kept open between requests (default 64);
   * `timeouts` sets the time limits (none by default).
   */
  constructor(origin: URL, options: { maxIdle?: number; timeouts?: Http1Timeouts } = {}) {
    const tls = origin.protocol === "https:";
    this.#target = {
      hostname: origin.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: origin.port === "" ? (tls ? 443 : 80) : Number(origin.port),
      tls,
    };
    this.#host = origin.host;
    this.#maxIdle = options.maxIdle ?? 64;
    this.#connectMs = options.timeouts?.connectMs ?? 0;
    this.#headMs = options.timeouts?.headMs ?? 0;
    this.#idleMs = options.timeouts?.idleMs ?? 0;
  }

  /** Open connections, idle or busy. */
  get connections(): number {
    return this.#live.size;
  }

  /** Connections waiting in the pool for the next request. */
  get idleConnections(): number {
    return this.#idle.length;
  }

  /**
   * Sends `method target` and resolves with the response once its head has arrived. Throws what
   * connecting, writing or reading threw (`MalformedResponseError` for an answer that cannot be
   * passed on, {@linkcode Http1TimeoutError} when a limit ran out), or the signal's reason when
   * it fired first. See the module documentation for when a request is sent again.
   */
  async request(
    method: string,
    target: string,
    options: Http1RequestOptions,
  ): Promise<UpstreamResponse> {
    if (this.#closed) throw new Error("the upstream client is closed");
    const body = options.body ?? null;
    const replayable = IDEMPOTENT.has(method) && !(body instanceof ReadableStream);
    const head = this.#head(method, target, options);
    const signal = options.signal;
    for (let attempt = 0;; attempt++) {
      signal?.throwIfAborted();
      const pooled = attempt === 0 ? this.#idle.pop() : undefined;
      pooled?.wake();
      const connection = pooled ?? await this.#open(signal);
      this.#live.add(connection);
      this.#startSweeper();
      connection.resetReadCount();
      const onAbort = () => connection.close();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        if (signal?.aborted) throw signal.reason;
        const { head: answer, sentWhole } = await this.#exchange(connection, method, head, options);
        return new UpstreamResponse(connection, answer, {
          release: this.#release,
          reusable: sentWhole,
          idleMs: this.#idleMs,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        connection.close();
        if (signal?.aborted) throw signal.reason;
        // A kept-alive connection the server had closed, and nothing came back: for an idempotent
        // request, nothing was done that sending it again could repeat.
        if (
          pooled && replayable && connection.bytesRead === 0 &&
          !(error instanceof Http1TimeoutError) && !(error instanceof MalformedResponseError)
        ) continue;
        throw error;
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    }
  }

  /** Closes every connection, idle or busy; later requests fail. */
  close(): void {
    this.#closed = true;
    for (const connection of [...this.#live]) connection.close();
    this.#idle = [];
    this.#stopSweeper();
  }

  async #open(signal: AbortSignal | undefined): Promise<UpstreamConnection> {
    const connection = await UpstreamConnection.open(this.#target, {
      onClose: this.#forget,
      timeoutMs: this.#connectMs,
    });
    if (this.#closed || signal?.aborted) {
      connection.close();
      if (signal?.aborted) throw signal.reason;
      throw new Error("the upstream client is closed");
    }
    return connection;
  }

  #head(method: string, target: string, options: Http1RequestOptions): Uint8Array {
    const headers: HeaderPairs = [["host", this.#host], ...options.headers];
    const body = options.body ?? null;
    if (body instanceof Uint8Array) {
      headers.push(["content-length", String(body.length)]);
    } else if (body !== null) {
      headers.push(
        options.contentLength !== undefined
          ? ["content-length", String(options.contentLength)]
          : ["transfer-encoding", "chunked"],
      );
    }
    return encodeRequestHead(`${method} ${target} HTTP/1.1`, headers);
  }

  /** Writes the request and reads the final response head. */
  async #exchange(
    connection: UpstreamConnection,
    method: string,
    head: Uint8Array,
    options: Http1RequestOptions,
  ): Promise<{ head: ResponseHead; sentWhole: boolean }> {
    const body = options.body ?? null;
    if (body === null || body instanceof Uint8Array && head.length + body.length <= JOINED_WRITE) {
      await this.#write(connection, body === null || body.length === 0 ? head : join(head, body));
      connection.arm("head", this.#headMs);
      const answer = await readHead(connection, method);
      connection.disarm();
      return { head: answer, sentWhole: true };
    }
    // A large or streamed body: the answer is read while the body is written, so that an answer
    // the server gives before taking the whole body (413, then close) reaches the client instead
    // of a broken pipe.
    await this.#write(connection, head);
    const reading = readHead(connection, method);
    const stop = new AbortController();
    const sending = this.#sendBody(connection, body, {
      signal: stop.signal,
      ...(options.contentLength !== undefined ? { contentLength: options.contentLength } : {}),
    }).then(() => null, (error: unknown) => ({ error }));
    const first = await Promise.race([
      sending.then((failure) => failure ?? "sent" as const),
      reading.then(() => "answer" as const, () => "answer" as const),
    ]);
    if (first === "sent") {
      connection.arm("head", this.#headMs);
      const answer = await reading;
      connection.disarm();
      // A server that refuses a large body may not have read it: its connection is not trusted
      // with another request (Go's server, Ollama's, closes such a connection itself).
      return { head: answer, sentWhole: answer.status < 400 };
    }
    stop.abort();
    if (first !== "answer") {
      // Writing failed: the server may have answered before it stopped reading.
      connection.arm("head", this.#headMs);
      const answer = await reading.catch(() => {
        throw first.error;
      });
      connection.disarm();
      return { head: answer, sentWhole: false };
    }
    return { head: await reading, sentWhole: false };
  }

  /** Writes `bytes` with the idle limit armed. */
  async #write(connection: UpstreamConnection, bytes: Uint8Array): Promise<void> {
    connection.arm("idle", this.#idleMs);
    await connection.write(bytes);
    connection.disarm();
  }

  async #sendBody(
    connection: UpstreamConnection,
    body: Uint8Array | ReadableStream<Uint8Array>,
    options: { signal: AbortSignal; contentLength?: number },
  ): Promise<void> {
    const signal = options.signal;
    if (body instanceof Uint8Array) {
      for (let offset = 0; offset < body.length && !signal.aborted; offset += WRITE_PIECE) {
        await this.#write(connection, body.subarray(offset, offset + WRITE_PIECE));
      }
      return;
    }
    const reader = body.getReader();
    const onStop = () => void reader.cancel().catch(() => {});
    signal.addEventListener("abort", onStop, { once: true });
    const chunked = options.contentLength === undefined;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || signal.aborted) break;
        if (value.length === 0) continue;
        if (!chunked) await this.#write(connection, value);
        else if (value.length <= FRAME_COPY_LIMIT) await this.#write(connection, frameChunk(value));
        else {
          // Framed in three writes, not copied: a copy per chunk is garbage as large as the body.
          await this.#write(connection, encoder.encode(`${value.length.toString(16)}\r\n`));
          await this.#write(connection, value);
          await this.#write(connection, CRLF);
        }
      }
      if (chunked && !signal.aborted) await this.#write(connection, LAST_CHUNK);
    } catch (error) {
      void reader.cancel(error).catch(() => {});
      throw error;
    } finally {
      signal.removeEventListener("abort", onStop);
      reader.releaseLock();
    }
  }

  #keep(connection: UpstreamConnection): void {
    if (this.#closed || this.#idle.length >= this.#maxIdle) {
      connection.close();
      return;
    }
    connection.rest();
    if (!connection.closed) this.#idle.push(connection);
  }

  #drop(connection: UpstreamConnection): void {
    this.#live.delete(connection);
    const index = this.#idle.indexOf(connection);
    if (index !== -1) this.#idle.splice(index, 1);
    if (this.#live.size === 0) this.#stopSweeper();
  }

  /** Starts the timer that closes connections whose deadline passed, when limits are set. */
  #startSweeper(): void {
    if (this.#sweeper !== undefined || this.#closed) return;
    const limits = [this.#headMs, this.#idleMs].filter((ms) => ms > 0);
    if (limits.length === 0) return;
    // A tenth of the shortest limit, between 5 ms and 1 s: a limit runs out at most 10 % late.
    const tick = Math.max(5, Math.min(1000, Math.min(...limits) / 10));
    const sweeper = setInterval(() => {
      const now = performance.now();
      for (const connection of this.#live) connection.expire(now);
    }, tick);
    Deno.unrefTimer(sweeper);
    this.#sweeper = sweeper;
  }

  #stopSweeper(): void {
    if (this.#sweeper === undefined) return;
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}

/** The head and a small body, in one buffer. */
function join(head: Uint8Array, body: Uint8Array): Uint8Array {
  const joined = new Uint8Array(head.length + body.length);
  joined.set(head);
  joined.set(body, head.length);
  return joined;
}

/** One chunk of a chunked request body. */
function frameChunk(chunk: Uint8Array): Uint8Array {
  const size = encoder.encode(`${chunk.length.toString(16)}\r\n`);
  const framed = new Uint8Array(size.length + chunk.length + 2);
  framed.set(size);
  framed.set(chunk, size.length);
  framed.set([0x0d, 0x0a], size.length + chunk.length);
  return framed;
}

/** Reads response heads until a final one; interim (1xx) answers are skipped, within bounds. */
async function readHead(connection: UpstreamConnection, method: string): Promise<ResponseHead> {
  let interim = 0;
  let interimBytes = 0;
  for (;;) {
    let end = findHeadEnd(connection.view());
    while (end === -1) {
      if (connection.buffered + interimBytes >= MAX_HEAD) {
        throw new MalformedResponseError(`the response head is larger than ${MAX_HEAD} bytes`);
      }
      if (!await connection.fill(MAX_HEAD)) {
        if (connection.bytesRead === 0) {
          throw new Error("the connection closed before an answer came");
        }
        throw new MalformedResponseError(
          "the connection closed in the middle of the response head",
        );
      }
      end = findHeadEnd(connection.view());
    }
    const head = parseResponseHead(connection.view().subarray(0, end), { method });
    connection.consume(end);
    if (head.status >= 200) return head;
    if (head.status === 101) {
      throw new MalformedResponseError("the server switched protocols, which is not proxied");
    }
    interimBytes += end;
    if (++interim > MAX_INTERIM || interimBytes >= MAX_HEAD) {
      throw new MalformedResponseError(
        `more than ${MAX_INTERIM} interim answers or ${MAX_HEAD} bytes of them`,
      );
    }
  }
}
