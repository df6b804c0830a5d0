/**
 * One TCP (or TLS) connection to Ollama with a read buffer of its own: the HTTP/1.1 client parses
 * response heads and chunk framing straight out of it and copies out only body bytes.
 *
 * @module
 */

/** Where the connections go. */
export interface ConnectionTarget {
  readonly hostname: string;
  readonly port: number;
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
  /** Bytes read since {@linkcode UpstreamConnection.resetReadCount} was last called. */
  bytesRead = 0;

  private constructor(conn: Deno.Conn, onClose: (connection: UpstreamConnection) => void) {
    this.#conn = conn;
    this.#onClose = onClose;
  }

  /**
   * Connects to `target`; `onClose` is called once when the connection is closed. Throws what
   * `Deno.connect` throws (connection refused, unknown host).
   */
  static async open(
    target: ConnectionTarget,
    options: { onClose: (connection: UpstreamConnection) => void },
  ): Promise<UpstreamConnection> {
    const conn = target.tls
      ? await Deno.connectTls({ hostname: target.hostname, port: target.port })
      : await Deno.connect({ hostname: target.hostname, port: target.port });
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
   * Reads more bytes into the buffer, keeping what is buffered. Returns `false` when the peer
   * closed the connection. `limit` bounds how large the buffer may grow to keep an item whole.
   */
  fill(limit: number = LARGE_BUFFER): Promise<boolean> {
    // Not an async function: a slow stream waits here between chunks, and a plain promise chain
    // holds less memory while it waits than a suspended async frame.
    if (this.#end === this.#buffer.length) this.#makeRoom(limit);
    const room = this.#buffer.length - this.#end;
    return this.#conn.read(this.#buffer.subarray(this.#end)).then((count) => {
      if (count === null) return false;
      this.#end += count;
      this.bytesRead += count;
      if (count === room && this.#buffer.length < LARGE_BUFFER) {
        this.#grow(this.#buffer.length * 2);
      }
      return true;
    });
  }

  /** Reads straight into `target` (the buffer must be empty); `null` when the peer closed. */
  async readInto(target: Uint8Array): Promise<number | null> {
    const count = await this.#conn.read(target);
    if (count !== null) this.bytesRead += count;
    return count;
  }

  /** Writes every byte of `bytes`. */
  async write(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  /** Closes the connection (again is a no-op); a pending read or write fails. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime.
    }
    this.#onClose(this);
  }

  #makeRoom(limit: number): void {
    if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
      return;
    }
    if (this.#buffer.length >= limit) {
      throw new RangeError(`an item in Ollama's response is larger than ${limit} bytes`);
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
