/**
 * The synthetic durations (integer nanoseconds) the simulator reports, derived from token counts.
 *
 * @module
 */

/** Constants of the duration formula; every field is an integer number of nanoseconds. */
export interface Timings {
  /** `load_duration` of every generation and embedding. */
  readonly loadNs: number;
  /** `prompt_eval_duration = prompt_eval_count * promptNsPerToken`. */
  readonly promptNsPerToken: number;
  /** `eval_duration = eval_count * evalNsPerToken`. */
  readonly evalNsPerToken: number;
  /** Added once to `total_duration` on top of load, prompt and eval time. */
  readonly overheadNs: number;
}

/** The formula's defaults: 5 ms load, 2 ms per prompt token, 25 ms per output token, 1 ms more. */
export const DEFAULT_TIMINGS: Timings = Object.freeze({
  loadNs: 5_000_000,
  promptNsPerToken: 2_000_000,
  evalNsPerToken: 25_000_000,
  overheadNs: 1_000_000,
});

/** Fills the fields missing from `partial` with {@link DEFAULT_TIMINGS}, checking each is an integer. */
export function resolveTimings(partial: Partial<Timings> = {}): Timings {
  const timings = { ...DEFAULT_TIMINGS, ...partial };
  for (const [key, value] of Object.entries(timings)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(
        `Cannot use timing ${key}=${value}: durations are non-negative integer nanoseconds`,
      );
    }
  }
  return timings;
}
