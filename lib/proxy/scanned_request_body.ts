/**
 * A request body on its way to Ollama, scanned for the few top-level fields the metrics need
 * (`model`, `stream`, ...) with a {@linkcode JsonFieldScanner}, in bounded memory:
 *
 * - A body with a known length up to {@linkcode WHOLE_BODY_LIMIT} is read whole and scanned: it
 *   goes upstream in one write together with the request head.
 * - A larger body, or one of unknown length, is streamed: read into one reused buffer (a BYOB
 *   reader, so a 64 MB body does not leave 64 MB of chunks for the garbage collector), scanned
 *   and handed to the upstream client chunk by chunk.
 * - A body longer than the limit is refused: at once when its `Content-Length` says so, else as
 *   soon as it grows past it while streaming (the upstream request is then aborted, which closes
 *   its connection).
 *
 * An `insert` hook may add bytes in front of the top-level object's closing `}` (the OpenAI route
 * asks for usage that way); everything else reaches Ollama byte for byte. A compressed body
 * (`Content-Encoding: zstd`, `gzip`, `deflate`, `br`) is forwarded as it came, decompressed on the
 * side only for the scan (see {@linkcode DecompressingScan}); nothing is inserted into it.
 *
 * @module
 */

import { JsonFieldScanner } from "../streams/json_field_scanner.ts";
import { canDecompress, DecompressingScan } from "./decompressing_scan.ts";

/** Bodies with a known length up to this size are read whole. */
export const WHOLE_BODY_LIMIT = 64 * 1024;
/** Size of the buffer a streamed body is read into. */
const READ_BUFFER = 64 * 1024;

/**
 * Returns bytes to insert in front of the top-level closing `}`, given the complete scan, or
 * nothing to leave the body as it is.
 */
export type BodyInsertion = (scan: JsonFieldScanner) => Uint8Array | undefined;

/** What reading a body can end in besides a body to forward. */
export type RefusedBody =
  /** The body is longer than the limit (its `Content-Length` says so). */
  | "too_large"
  /** The client went away before the body arrived whole. */
  | "client_gone";

/** A request body being forwarded, with what its scan found. */
export class ScannedRequestBody {
  /** The scan of the body's top-level fields. */
  readonly scan: JsonFieldScanner;
  #body: Uint8Array | ReadableStream<Uint8Array> | null;
  #contentLength: number | undefined;
  #inserted = false;
  #tooLarge = false;
  #clientFailed = false;
  #abort: AbortController | undefined;
  #ended = false;
  /** Whether the body is compressed in a way that cannot be read (its fields are unknown). */
  #unreadable = false;
  /** The decompressor feeding the scan, for a compressed body. */
  #decoder: DecompressingScan | undefined;

  private constructor(scan: JsonFieldScanner) {
    this.scan = scan;
    this.#body = null;
  }

  /**
   * Starts reading `request`'s body: reads a small one whole, or the first chunk of a large one
   * (whose scan usually names the model already). Returns `"too_large"` when the announced
   * length is over `limit` bytes (nothing is read), and `"client_gone"` when the client left.
   *
   * @param options `keys` are the top-level fields to capture; `limit` the most bytes accepted;
   * `insert` adds bytes in front of the closing `}`.
   */
  static async open(
    request: Request,
    options: { keys: readonly string[]; limit: number; insert?: BodyInsertion | undefined },
  ): Promise<ScannedRequestBody | RefusedBody> {
    const body = new ScannedRequestBody(new JsonFieldScanner(options.keys));
    body.#ended = true;
    // `request.body` is not touched unless the body is streamed: the getter builds a stream, and
    // `bytes()` reads a small body faster without one.
    const header = request.headers.get("content-length");
    const length = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
    if (length === undefined && !request.headers.has("transfer-encoding")) {
      // No body announced (RFC 9112 §6.3): the upstream client sends none either.
      return body;
    }
    if (length !== undefined && length > options.limit) return "too_large";
    const coding = request.headers.get("content-encoding");
    let insert = options.insert;
    if (coding !== null && coding.trim().toLowerCase() !== "identity") {
      // Nothing can be inserted into compressed bytes; other codings are forwarded unread.
      insert = undefined;
      if (!canDecompress(coding)) body.#unreadable = true;
      else body.#decoder = new DecompressingScan(coding, body.scan, { limit: options.limit });
    }
    if (length !== undefined && length <= WHOLE_BODY_LIMIT) {
      let bytes: Uint8Array;
      try {
        bytes = await request.bytes();
      } catch {
        return "client_gone";
      }
      if (body.#decoder) {
        await body.#decoder.push(bytes);
        await body.#decoder.end();
        body.#body = bytes;
      } else {
        body.#body = body.#scanned(bytes, insert, { whole: true });
      }
      return body;
    }
    const source = request.body;
    if (source === null) return body;
    body.#ended = false;
    return await body.#stream(source, length, { limit: options.limit, insert });
  }

  /** The body to forward: bytes, a stream, or `null` when the request has none. */
  get body(): Uint8Array | ReadableStream<Uint8Array> | null {
    return this.#body;
  }

  /** The length of a streamed body, when known in advance (else it is sent chunked). */
  get contentLength(): number | undefined {
    return this.#contentLength;
  }

  /** Whether bytes were inserted in front of the closing `}`. */
  get inserted(): boolean {
    return this.#inserted;
  }

  /** Whether the streamed body grew past the limit (the upstream request was aborted). */
  get tooLarge(): boolean {
    return this.#tooLarge;
  }

  /** Whether reading the streamed body from the client failed (the client went away). */
  get clientFailed(): boolean {
    return this.#clientFailed;
  }

  /** Aborts when the streamed body grows past the limit; absent for a body read whole. */
  get signal(): AbortSignal | undefined {
    return this.#abort?.signal;
  }

  /**
   * A top-level field of the body as far as it is known: once the body has been read to its end,
   * from a complete JSON object only (`undefined` for a body that is not one); before that (a
   * streamed body, or an answer that came before the body was taken whole), the last value seen.
   */
  known(key: string): unknown {
    if (this.#unreadable || (this.#ended && !this.scan.complete)) return undefined;
    return this.scan.value(key);
  }

  /**
   * Scans a chunk of a streamed body (through the decompressor, for a compressed one: the chunk's
   * memory is reused for the next read, so it must have been taken first) and returns what to
   * forward.
   */
  async #read(chunk: Uint8Array, insert: BodyInsertion | undefined): Promise<Uint8Array> {
    if (this.#decoder === undefined) return this.#scanned(chunk, insert);
    await this.#decoder.push(chunk);
    return chunk;
  }

  /** Scans `chunk` and returns it, or a copy with the insertion in front of the closing `}`. */
  #scanned(
    chunk: Uint8Array,
    insert: BodyInsertion | undefined,
    options: { whole?: boolean } = {},
  ): Uint8Array {
    const close = options.whole ? this.scan.pushWhole(chunk) : this.scan.push(chunk);
    if (close === -1 || insert === undefined) return chunk;
    const extra = insert(this.scan);
    if (extra === undefined || extra.length === 0) return chunk;
    this.#inserted = true;
    const out = new Uint8Array(chunk.length + extra.length);
    out.set(chunk.subarray(0, close));
    out.set(extra, close);
    out.set(chunk.subarray(close), close + extra.length);
    return out;
  }

  async #stream(
    source: ReadableStream<Uint8Array>,
    length: number | undefined,
    options: { limit: number; insert?: BodyInsertion | undefined },
  ): Promise<ScannedRequestBody | RefusedBody> {
    // Deno hands a body with a Content-Encoding over as a stream of fresh chunks, not of bytes.
    const byob = isByteStream(source);
    const reader = byob ? source.getReader({ mode: "byob" }) : source.getReader();
    let buffer: ArrayBuffer = new ArrayBuffer(READ_BUFFER);
    let received = 0;
    // Reads the next chunk into the one buffer; the previous chunk has been written by then.
    const next = async (): Promise<Uint8Array | null> => {
      const { done, value } = byob
        ? await (reader as ReadableStreamBYOBReader).read(new Uint8Array(buffer))
        : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
      if (done || value === undefined) return null;
      if (byob) buffer = value.buffer as ArrayBuffer;
      received += value.length;
      return value;
    };
    let first: Uint8Array | null;
    try {
      first = await next();
    } catch {
      return "client_gone";
    }
    if (received > options.limit) {
      void reader.cancel().catch(() => {});
      return "too_large";
    }
    let pending = first === null ? null : await this.#read(first, options.insert);
    this.#abort = new AbortController();
    // With an insertion possible the length changes: the body goes chunked.
    if (length !== undefined && options.insert === undefined) this.#contentLength = length;
    this.#body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (pending !== null) {
          controller.enqueue(pending);
          pending = null;
          return;
        }
        let chunk: Uint8Array | null;
        try {
          chunk = await next();
        } catch (error) {
          this.#clientFailed = true;
          controller.error(error);
          return;
        }
        if (chunk === null) {
          await this.#decoder?.end();
          this.#ended = true;
          controller.close();
          return;
        }
        if (received > options.limit) {
          this.#tooLarge = true;
          void reader.cancel().catch(() => {});
          const error = new Error(
            `Cannot forward the request: its body is larger than the limit of ${options.limit} bytes`,
          );
          controller.error(error);
          this.#abort?.abort(error);
          return;
        }
        controller.enqueue(await this.#read(chunk, options.insert));
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
    if (first === null) {
      // An empty body of unknown length.
      this.#ended = true;
      this.#body = new Uint8Array(0);
      this.#abort = undefined;
    }
    return this;
  }
}

/** Whether `stream` is a byte stream (one a BYOB reader can read). */
function isByteStream(stream: ReadableStream<Uint8Array>): boolean {
  try {
    stream.getReader({ mode: "byob" }).releaseLock();
    return true;
  } catch {
    return false;
  }
}
