/**
 * Waiting that never outlives the thing it waits for, so Deno's op sanitizer stays quiet.
 *
 * @module
 */

/**
 * Waits `ms` milliseconds. Resolves `true` when the time has passed and `false` as soon as
 * `signal` aborts (the timer is cleared then). A non-positive `ms` resolves `true` at once.
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
