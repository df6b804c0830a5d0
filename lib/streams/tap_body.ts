/**
 * Watches a response body on its way to the client without buffering it: every chunk is handed
 * to an observer and passed on unchanged, as soon as it arrives.
 *
 * @module
 */

/**
 * What a tap reports. Each call gets `performance.now()` of the moment it happened. An observer
 * that rewrites the body (to remove what the proxy itself asked upstream for) returns the bytes to
 * send instead; returning nothing passes the chunk on unchanged.
 */
export interface BodyObserver {
  /** A chunk arrived from upstream; returns replacement bytes, or nothing to pass it on. */
  chunk(bytes: Uint8Array, now: number): Uint8Array | void;
  /** Upstream ended the body normally; returns last bytes to send, if any. */
  end(now: number): Uint8Array | void;
  /** Reading upstream failed (`byClient: false`) or the client went away (`byClient: true`). */
  abort(reason: unknown, now: number, options: { byClient: boolean }): void;
}

/** Where a tap reads from: a body that hands over one fresh chunk per read, `null` at its end. */
export interface ChunkSource {
  /** Reads the next chunk; `null` at the end of the body. */
  read(): Promise<Uint8Array | null>;
  /** Stops reading; the rest of the body is not wanted. */
  cancel(reason?: unknown): void | Promise<void>;
}

/**
 * Returns a stream that yields `body`'s chunks (unchanged, unless the observer replaces them)
 * while `observer` sees each of them.
 * When the consumer cancels (the client disconnected), upstream is cancelled at once, which
 * closes the upstream connection. Exactly one of `end` and `abort` is called.
 */
export function tapBody(
  body: ReadableStream<Uint8Array> | ChunkSource,
  observer: BodyObserver,
): ReadableStream<Uint8Array> {
  const reader: ChunkSource = body instanceof ReadableStream ? ChunkReader.for(body) : body;
  let settled = false;
  const fail = (error: unknown, controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (!settled) {
      settled = true;
      observer.abort(error, performance.now(), { byClient: false });
    }
    controller.error(error);
  };
  // Promise chains rather than an async `pull`: a slow stream waits in here between chunks, and a
  // suspended async frame holds more memory than a pending reaction (thousands of streams wait).
  const pull = (controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> =>
    reader.read().then((chunk) => {
      if (settled) return;
      let out: Uint8Array;
      try {
        if (chunk === null) {
          settled = true;
          const last = observer.end(performance.now());
          if (last && last.length > 0) controller.enqueue(last);
          controller.close();
          return;
        }
        out = observer.chunk(chunk, performance.now()) ?? chunk;
      } catch (error) {
        // A fault in observing must still end the record and release the upstream connection.
        fail(error, controller);
        return Promise.resolve(reader.cancel(error)).catch(() => {});
      }
      // A chunk the observer swallowed whole: read on, so that every pull yields something.
      if (out.length === 0) return pull(controller);
      controller.enqueue(out);
    }, (error) => fail(error, controller));
  return new ReadableStream<Uint8Array>({
    pull,
    cancel(reason) {
      if (!settled) {
        settled = true;
        observer.abort(reason, performance.now(), { byClient: true });
      }
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

const SMALL_BUFFER = 4 * 1024;
const LARGE_BUFFER = 64 * 1024;

/**
 * Reads a body chunk by chunk. A fetch body's default reader hands every chunk over in a fresh
 * 64 KiB buffer, however few bytes it holds; an NDJSON or SSE chunk is a few hundred bytes, so
 * thousands of open streams would each pin 64 KiB while they wait. Where the body is a byte
 * stream, this reads into one buffer of its own per stream instead (4 KiB, 64 KiB once a read
 * fills it) and hands over an exact-size copy of each chunk.
 */
class ChunkReader implements ChunkSource {
  #byob: ReadableStreamBYOBReader | null;
  #default: ReadableStreamDefaultReader<Uint8Array> | null;
  #buffer: ArrayBuffer | null = null;

  private constructor(
    byob: ReadableStreamBYOBReader | null,
    fallback: ReadableStreamDefaultReader<Uint8Array> | null,
  ) {
    this.#byob = byob;
    this.#default = fallback;
  }

  /** A reader for `body`: BYOB when it is a byte stream, else the default reader. */
  static for(body: ReadableStream<Uint8Array>): ChunkReader {
    try {
      return new ChunkReader(body.getReader({ mode: "byob" }), null);
    } catch {
      return new ChunkReader(null, body.getReader());
    }
  }

  /** Reads the next chunk; `null` at the end of the body. */
  async read(): Promise<Uint8Array | null> {
    if (this.#default) {
      const result = await this.#default.read();
      return result.done ? null : result.value;
    }
    const size = this.#buffer?.byteLength ?? SMALL_BUFFER;
    const view = new Uint8Array(this.#buffer ?? new ArrayBuffer(size));
    this.#buffer = null;
    const result = await this.#byob!.read(view);
    if (result.done || result.value === undefined) return null;
    const filled = result.value;
    // The read transferred our buffer into `filled.buffer`: keep it for the next read.
    this.#buffer = filled.byteLength === size && size < LARGE_BUFFER
      ? new ArrayBuffer(LARGE_BUFFER)
      : filled.buffer as ArrayBuffer;
    return filled.slice();
  }

  /** Cancels the body. */
  cancel(reason: unknown): Promise<void> {
    return (this.#byob ?? this.#default)!.cancel(reason);
  }
}
