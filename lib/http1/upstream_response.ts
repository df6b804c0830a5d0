/**
 * Ollama's answer as the HTTP/1.1 client received it: status, header pairs, and a body read from
 * the connection on demand (by length, chunked, or until the connection closes). Once the body has
 * been read to its end the connection goes back to the pool; a body abandoned part-way closes it.
 *
 * @module
 */

import type { HeaderPairs } from "./header_pairs.ts";
import type { BodyFraming, ResponseHead } from "./http1_head.ts";
import type { UpstreamConnection } from "./upstream_connection.ts";
import { Http1TimeoutError } from "./http1_timeout_error.ts";
import { concatBytes } from "../streams/concat_bytes.ts";

/** Longest chunk-size or trailer line accepted in a chunked body. */
const MAX_LINE = 8 * 1024;
/** How far the buffer may grow to hold one unfinished chunk-size or trailer line. */
const CHUNKED_FILL_LIMIT = 64 * 1024;
/** Most trailer bytes accepted after a chunked body (they are read and dropped). */
const MAX_TRAILERS = 64 * 1024;

/** Where a chunked body's parser is. */
const Chunked = { Size: 0, Data: 1, DataEnd: 2, Trailers: 3, Done: 4 } as const;

/** Thrown when a response body cannot be read to its end. */
export class BodyReadError extends Error {
  /**
   * Creates the error; the message is prefixed with "Cannot read Ollama's answer: ".
   *
   * @param message what went wrong; `options.cause` the underlying error.
   */
  constructor(message: string, options?: { cause: unknown }) {
    super(`Cannot read Ollama's answer: ${message}`, options);
    this.name = "BodyReadError";
  }
}

/** A response from Ollama whose body is still on the connection. */
export class UpstreamResponse {
  /** The status code. */
  readonly status: number;
  /** The reason phrase. */
  readonly statusText: string;
  /** The header fields, names lower-cased. */
  readonly headers: HeaderPairs;
  #connection: UpstreamConnection;
  #framing: BodyFraming;
  #keepAlive: boolean;
  #release: (connection: UpstreamConnection) => void;
  #remaining: number;
  #chunked: number = Chunked.Size;
  /** A framing error found after data that was handed over first. */
  #deferred: BodyReadError | undefined;
  #done: boolean;
  #reusable: boolean;
  #idleMs: number;
  #trailerBytes = 0;
  #signal: AbortSignal | undefined;
  /** The signal's reason once the signal abandoned the body: reads reject with it. */
  #abortReason: unknown = undefined;
  #onAbort = () => {
    this.#abortReason = this.#signal?.reason ?? new DOMException("aborted", "AbortError");
    this.#abandon();
  };

  /**
   * Wraps a parsed head; the body is read from `connection` on demand.
   *
   * @param connection where the body is; `head` the parsed head; `options.release` takes the
   * connection back once the body has been read whole and the connection may be reused;
   * `reusable: false` when the request was not written whole (the connection is closed at the
   * end); `idleMs` limits each wait for the server (0: none); `signal` abandons the body.
   */
  constructor(
    connection: UpstreamConnection,
    head: ResponseHead,
    options: {
      release: (connection: UpstreamConnection) => void;
      reusable?: boolean;
      idleMs?: number;
      signal?: AbortSignal;
    },
  ) {
    this.status = head.status;
    this.statusText = head.statusText;
    this.headers = head.headers;
    this.#connection = connection;
    this.#framing = head.framing;
    this.#keepAlive = head.keepAlive;
    this.#release = options.release;
    this.#remaining = head.framing.kind === "length" ? head.framing.length : 0;
    this.#done = false;
    this.#reusable = options.reusable ?? true;
    this.#idleMs = options.idleMs ?? 0;
    if (head.framing.kind === "none") {
      this.#finish();
    } else if (options.signal) {
      this.#signal = options.signal;
      // A signal that fired while the head was on its way fires no more events.
      if (options.signal.aborted) this.#onAbort();
      else options.signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** The first value of header `name` (lower-case), or `null`. */
  header(name: string): string | null {
    const headers = this.headers;
    for (let i = 0; i < headers.length; i++) {
      if (headers[i]![0] === name) return headers[i]![1];
    }
    return null;
  }

  /** Whether a body follows the head. */
  get hasBody(): boolean {
    return this.#framing.kind !== "none";
  }

  /** The body's length when the head announced one, else `undefined`. */
  get contentLength(): number | undefined {
    const framing = this.#framing;
    return framing.kind === "length" ? framing.length : framing.kind === "none" ? 0 : undefined;
  }

  /**
   * Reads the next piece of the body (a fresh array the caller may keep), `null` at its end.
   * Rejects with {@linkcode BodyReadError} when the connection fails or breaks the framing.
   */
  read(): Promise<Uint8Array | null> {
    // A promise chain rather than async functions: thousands of slow streams wait in here.
    if (this.#done) {
      return this.#abortReason === undefined
        ? Promise.resolve(null)
        : Promise.reject(this.#abortReason);
    }
    let piece: Uint8Array | null | undefined;
    try {
      piece = this.#framing.kind === "chunked" ? this.#takeChunked() : this.#takeBuffered();
    } catch (error) {
      return Promise.reject(this.#failed(error));
    }
    if (piece !== undefined) return Promise.resolve(piece);
    const connection = this.#connection;
    connection.arm("idle", this.#idleMs);
    return connection.fill(CHUNKED_FILL_LIMIT).then((more) => {
      connection.disarm();
      if (!more) this.#closed();
      return this.read();
    }, (error) => {
      throw this.#failed(error);
    });
  }

  /** Reads the whole body. */
  async bytes(): Promise<Uint8Array> {
    if (this.#framing.kind === "length" && !this.#done) return await this.#readWhole();
    const pieces: Uint8Array[] = [];
    for (let piece = await this.read(); piece !== null; piece = await this.read()) {
      pieces.push(piece);
    }
    return pieces.length === 0 ? new Uint8Array(0) : concatBytes(pieces);
  }

  /** Stops reading: the rest of the body is not wanted, and the connection is closed. */
  cancel(): void {
    this.#abandon();
  }

  async #readWhole(): Promise<Uint8Array> {
    const connection = this.#connection;
    const whole = new Uint8Array(this.#remaining);
    let offset = Math.min(connection.buffered, whole.length);
    whole.set(connection.view().subarray(0, offset));
    connection.consume(offset);
    try {
      while (offset < whole.length) {
        connection.arm("idle", this.#idleMs);
        const count = await connection.readInto(whole.subarray(offset));
        connection.disarm();
        if (count === null) throw this.#closedEarly(offset);
        offset += count;
      }
    } catch (error) {
      throw this.#failed(error);
    }
    this.#remaining = 0;
    this.#finish();
    return whole;
  }

  /**
   * Takes body bytes that are already buffered (length-delimited or close-delimited bodies):
   * the next piece, or `undefined` when more must be read first.
   */
  #takeBuffered(): Uint8Array | undefined {
    const connection = this.#connection;
    if (connection.buffered === 0) return undefined;
    const count = this.#framing.kind === "length"
      ? Math.min(connection.buffered, this.#remaining)
      : connection.buffered;
    const piece = connection.view().slice(0, count);
    connection.consume(count);
    if (this.#framing.kind === "length") {
      this.#remaining -= count;
      if (this.#remaining === 0) this.#finish();
    }
    return piece;
  }

  /** Takes what is buffered of a chunked body: data, `null` at its end, or `undefined`. */
  #takeChunked(): Uint8Array | null | undefined {
    if (this.#deferred) throw this.#deferred;
    const pieces: Uint8Array[] = [];
    try {
      this.#parseChunks(this.#connection, pieces);
    } catch (error) {
      if (pieces.length === 0 || !(error instanceof BodyReadError)) throw error;
      // Hand over the data that came before the broken framing; fail on the next read.
      this.#deferred = error;
    }
    const out = joinPieces(pieces);
    if (this.#chunked === Chunked.Done) {
      this.#finish();
      return out;
    }
    return out ?? undefined;
  }

  /** The peer closed the connection while the body was being read. */
  #closed(): void {
    if (this.#framing.kind === "close") {
      this.#keepAlive = false;
      this.#finish();
      return;
    }
    if (this.#framing.kind === "length") {
      const length = (this.#framing as { length: number }).length;
      throw this.#failed(this.#closedEarly(length - this.#remaining));
    }
    throw this.#failed(new BodyReadError("the connection closed in the middle of a chunked body"));
  }

  #failed(error: unknown): unknown {
    this.#abandon();
    // The client left and its signal closed the connection under a pending read.
    if (this.#abortReason !== undefined) return this.#abortReason;
    if (error instanceof BodyReadError || error instanceof Http1TimeoutError) return error;
    return new BodyReadError(error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }

  #closedEarly(received: number): BodyReadError {
    const length = (this.#framing as { length: number }).length;
    return new BodyReadError(
      `the connection closed after ${received} of ${length} body bytes`,
    );
  }

  /** Parses what is buffered into `pieces`: views of the data (valid until the next fill). */
  #parseChunks(connection: UpstreamConnection, pieces: Uint8Array[]): Uint8Array[] {
    for (;;) {
      const view = connection.view();
      if (view.length === 0) return pieces;
      switch (this.#chunked) {
        case Chunked.Data: {
          const count = Math.min(view.length, this.#remaining);
          pieces.push(view.subarray(0, count));
          connection.consume(count);
          this.#remaining -= count;
          if (this.#remaining === 0) this.#chunked = Chunked.DataEnd;
          break;
        }
        case Chunked.DataEnd: {
          const line = takeLine(connection, view);
          if (line === null) return pieces;
          if (line.length > 0) throw new BodyReadError("a chunk is longer than its size says");
          this.#chunked = Chunked.Size;
          break;
        }
        case Chunked.Size: {
          const line = takeLine(connection, view);
          if (line === null) return pieces;
          const size = parseChunkSize(line);
          if (size === 0) {
            this.#chunked = Chunked.Trailers;
          } else {
            this.#remaining = size;
            this.#chunked = Chunked.Data;
          }
          break;
        }
        case Chunked.Trailers: {
          const line = takeLine(connection, view);
          if (line === null) return pieces;
          if (line.length === 0) {
            this.#chunked = Chunked.Done;
            return pieces;
          }
          this.#trailerBytes += line.length + 2;
          if (this.#trailerBytes > MAX_TRAILERS) {
            throw new BodyReadError(`the trailers are larger than ${MAX_TRAILERS} bytes`);
          }
          break;
        }
        default:
          return pieces;
      }
    }
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    const connection = this.#connection;
    // Bytes after the end of the body are a protocol error; such a connection is not reused.
    if (this.#keepAlive && this.#reusable && connection.buffered === 0 && !connection.closed) {
      this.#release(connection);
    } else {
      connection.close();
    }
  }

  #abandon(): void {
    this.#done = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#connection.close();
  }
}

/** Takes one line (without CRLF) off the buffer, or returns `null` when it is incomplete. */
function takeLine(connection: UpstreamConnection, view: Uint8Array): Uint8Array | null {
  const lf = view.indexOf(0x0a);
  if (lf === -1) {
    if (view.length > MAX_LINE) throw new BodyReadError("a chunk-size line is too long");
    return null;
  }
  const end = lf > 0 && view[lf - 1] === 0x0d ? lf - 1 : lf;
  const line = view.subarray(0, end);
  connection.consume(lf + 1);
  return line;
}

function parseChunkSize(line: Uint8Array): number {
  let size = 0;
  let digits = 0;
  for (let i = 0; i < line.length; i++) {
    const byte = line[i]!;
    const digit = byte >= 0x30 && byte <= 0x39
      ? byte - 0x30
      : byte >= 0x61 && byte <= 0x66
      ? byte - 0x57
      : byte >= 0x41 && byte <= 0x46
      ? byte - 0x37
      : -1;
    if (digit === -1) {
      // A chunk extension (";name=value") or whitespace before it ends the size.
      if (digits > 0 && (byte === 0x3b || byte === 0x20 || byte === 0x09)) break;
      throw new BodyReadError("a chunk size is not hexadecimal");
    }
    if (++digits > 12) throw new BodyReadError("a chunk size is too large");
    size = size * 16 + digit;
  }
  if (digits === 0) throw new BodyReadError("a chunk size is missing");
  return size;
}

/** Copies data views out of the connection's buffer into one fresh array. */
function joinPieces(pieces: Uint8Array[]): Uint8Array | null {
  if (pieces.length === 0) return null;
  return pieces.length === 1 ? pieces[0]!.slice() : concatBytes(pieces);
}
