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
  /**
   * Reads the next chunk; `null` at the end of the body. Rejects with an `AbortError` (the
   * client request's `signal.reason`) when reading stopped because the client went away.
   */
  read(): Promise<Uint8Array | null>;
  /** Stops reading; the rest of the body is not wanted. */
  cancel(reason?: unknown): void | Promise<void>;
}

/**
 * Returns a stream that yields `reader`'s chunks (unchanged, unless the observer replaces them)
 * while `observer` sees each of them.
 * When the consumer cancels (the client disconnected), upstream is cancelled at once, which
 * closes the upstream connection. Exactly one of `end` and `abort` is called.
 *
 * A read that fails errors the stream, so that the client sees its answer cut off rather than
 * complete (`Deno.serve` prints that error). A read that fails with an `AbortError` is the client
 * leaving, noticed on the upstream side before `Deno.serve` cancelled the stream: it is reported
 * as `byClient` and the stream is closed quietly, as there is nobody to tell and nothing to print.
 */
export function tapBody(
  reader: ChunkSource,
  observer: BodyObserver,
): ReadableStream<Uint8Array> {
  let settled = false;
  const fail = (error: unknown, controller: ReadableStreamDefaultController<Uint8Array>) => {
    const byClient = isAbortError(error);
    if (!settled) {
      settled = true;
      observer.abort(error, performance.now(), { byClient });
    }
    if (!byClient) {
      controller.error(error);
      return;
    }
    try {
      controller.close();
    } catch {
      // Cancelled already: Deno.serve noticed the client leave first.
    }
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

/** Whether `error` is an abort (a `DOMException` or `Error` named `AbortError`). */
function isAbortError(error: unknown): boolean {
  return typeof error === "object" && error !== null &&
    (error as { name?: unknown }).name === "AbortError";
}
