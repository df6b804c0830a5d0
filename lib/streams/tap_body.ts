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

/**
 * Returns a stream that yields `body`'s chunks (unchanged, unless the observer replaces them)
 * while `observer` sees each of them.
 * When the consumer cancels (the client disconnected), upstream is cancelled at once, which
 * closes the upstream connection. Exactly one of `end` and `abort` is called.
 */
export function tapBody(
  body: ReadableStream<Uint8Array>,
  observer: BodyObserver,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let settled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          if (!settled) {
            settled = true;
            observer.abort(error, performance.now(), { byClient: false });
          }
          controller.error(error);
          return;
        }
        if (settled) return;
        if (result.done) {
          settled = true;
          const last = observer.end(performance.now());
          if (last && last.length > 0) controller.enqueue(last);
          controller.close();
          return;
        }
        const out = observer.chunk(result.value, performance.now()) ?? result.value;
        if (out.length > 0) {
          controller.enqueue(out);
          return;
        }
      }
    },
    cancel(reason) {
      if (!settled) {
        settled = true;
        observer.abort(reason, performance.now(), { byClient: true });
      }
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
