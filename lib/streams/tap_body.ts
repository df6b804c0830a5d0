/**
 * Watches a response body on its way to the client without buffering it: every chunk is handed
 * to an observer and passed on unchanged, as soon as it arrives.
 *
 * @module
 */

/** What a tap reports. Each call gets `performance.now()` of the moment it happened. */
export interface BodyObserver {
  /** A chunk arrived from upstream and is being passed on. */
  chunk(bytes: Uint8Array, now: number): void;
  /** Upstream ended the body normally. */
  end(now: number): void;
  /** Reading upstream failed (`byClient: false`) or the client went away (`byClient: true`). */
  abort(reason: unknown, now: number, options: { byClient: boolean }): void;
}

/**
 * Returns a stream that yields `body`'s chunks unchanged while `observer` sees each of them.
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
        observer.end(performance.now());
        controller.close();
        return;
      }
      observer.chunk(result.value, performance.now());
      controller.enqueue(result.value);
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
