/**
 * Histograms: observations counted into buckets (request durations, token counts).
 *
 * @module
 */

import {
  type FamilySnapshot,
  MetricFamily,
  type MetricFamilyOptions,
  type ResettableSeries,
} from "./metric_family.ts";
import { type Exemplar, type ExemplarSnapshot, toExemplarSnapshot } from "./exemplar.ts";
import { checkSuffixes } from "./reserved_suffixes.ts";

export type { Exemplar } from "./exemplar.ts";

/**
 * One child of a {@link Histogram}. `observe` without an exemplar is allocation-free; it ignores
 * NaN and ±Infinity (see {@link Histogram}).
 */
export interface HistogramChild {
  /**
   * Counts `value` into the first bucket whose upper bound is at least `value`. With an
   * `exemplar`, that bucket keeps it (with `value`) as its exemplar, in place of the one it had:
   * OpenMetrics writes each bucket's last one. An exemplar that cannot be kept (see
   * {@link toExemplarSnapshot}) is dropped without a word and the observation still counted;
   * with NaN or ±Infinity both are dropped.
   */
  observe(value: number, exemplar?: Exemplar): void;
  /** The number of observations. */
  readonly count: number;
  /** The sum of all observations. */
  readonly sum: number;
}

/** The options of a {@link Histogram}. */
export interface HistogramOptions extends MetricFamilyOptions {
  /** Finite, strictly increasing upper bounds; `+Inf` is implicit and must not be listed. */
  buckets: readonly number[];
  /**
   * Keeps `_sum` exact: each observation is added to the sum as the nearest whole number of
   * `1 / sumScale` units, counted in integers, so that the sum carries no floating-point noise
   * (`1e9` for seconds known to the nanosecond: `0.002104237`, not `0.002104237000000012`). A
   * positive safe integer; without it observations are summed as floating-point numbers.
   */
  sumScale?: number;
  /** Called at every scrape before the histogram is encoded. */
  collect?: (histogram: Histogram) => void | Promise<void>;
}

const NO_EXEMPLARS: readonly undefined[] = Object.freeze([]);

class HistogramSeries implements HistogramChild, ResettableSeries {
  readonly labelValues: readonly string[];
  readonly labelText: string;
  readonly value = 0;
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  /** `0`: `#sum` is a float sum; else the sum is `#whole + #units / #scale`, both integers. */
  readonly #scale: number;
  #sum = 0;
  #whole = 0;
  #units = 0;
  #count = 0;
  /** Per bucket (as `#counts`), its last exemplar; created by the first one kept. */
  #exemplars: (ExemplarSnapshot | undefined)[] | undefined;

  constructor(
    bounds: readonly number[],
    scale: number,
    labelValues: readonly string[],
    labelText: string,
  ) {
    this.#bounds = bounds;
    this.#scale = scale;
    this.labelValues = labelValues;
    this.labelText = labelText;
    this.#counts = [];
    for (let i = 0; i <= bounds.length; i++) this.#counts.push(0);
  }

  get bucketCounts(): readonly number[] {
    return this.#counts;
  }

  get sum(): number {
    const scale = this.#scale;
    if (scale === 0) return this.#sum;
    // One division of two exact integers: the nearest double to the exact sum, which prints as
    // the short decimal it is. Past 2^53 units the integers no longer fit; the sum is then large
    // enough that a double holds it to the nanosecond-scale digits anyway.
    const units = this.#whole * scale + this.#units;
    return Number.isSafeInteger(units) ? units / scale : this.#whole + this.#units / scale;
  }

  get count(): number {
    return this.#count;
  }

  get exemplars(): readonly (ExemplarSnapshot | undefined)[] {
    return this.#exemplars ?? NO_EXEMPLARS;
  }

  observe(value: number, exemplar?: Exemplar): void {
    // NaN and ±Infinity would make _sum NaN or infinite for good: they are dropped.
    if (value - value !== 0) return;
    const bounds = this.#bounds;
    let low = 0;
    let high = bounds.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((bounds[middle] as number) < value) low = middle + 1;
      else high = middle;
    }
    const counts = this.#counts;
    counts[low] = (counts[low] as number) + 1;
    const scale = this.#scale;
    if (scale === 0) this.#sum += value;
    else {
      // Every whole `scale` units (a whole second, at 1e9) moves from #units to #whole, so that
      // both stay exact integers: #units below `scale`, #whole far below 2^53.
      let units = this.#units + Math.round(value * scale);
      if (units >= scale || units <= -scale) {
        const whole = Math.trunc(units / scale);
        this.#whole += whole;
        units -= whole * scale;
      }
      this.#units = units;
    }
    this.#count++;
    if (exemplar !== undefined) this.#keepExemplar(low, value, exemplar);
  }

  #keepExemplar(bucket: number, value: number, exemplar: Exemplar): void {
    const kept = toExemplarSnapshot(exemplar, value);
    if (kept === undefined) return;
    const exemplars = this.#exemplars ??= new Array<ExemplarSnapshot | undefined>(
      this.#counts.length,
    ).fill(undefined);
    exemplars[bucket] = kept;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#whole = 0;
    this.#units = 0;
    this.#count = 0;
    this.#exemplars = undefined;
  }
}

/**
 * A histogram family with fixed buckets. `le` is reserved as a label name (the encoders append it
 * after the user's labels), and the name must not end in `_total`, `_created`, `_bucket`, `_sum`
 * or `_count`.
 *
 * `observe()` ignores NaN and ±Infinity instead of throwing: they would poison `_sum` forever,
 * and metrics must never break the request that is being measured.
 *
 * @example
 * ```ts
 * const duration = new Histogram({
 *   name: "ollama_request_duration_seconds",
 *   help: "Time from request to last byte.",
 *   labelNames: ["model"],
 *   buckets: [0.1, 0.5, 1, 5, 10, 30, 60],
 * });
 * duration.labels("llama3.2").observe(0.42);
 * // With the request's trace id as the exemplar of the 0.5 bucket (OpenMetrics only):
 * duration.labels("llama3.2").observe(0.42, {
 *   labels: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" },
 * });
 * ```
 */
export class Histogram extends MetricFamily<HistogramChild & ResettableSeries> {
  /** The finite upper bounds, frozen. */
  readonly buckets: readonly number[];
  /** The `sumScale` option, `0` when the sum is a floating-point sum. */
  readonly sumScale: number;
  readonly #collect: ((histogram: Histogram) => void | Promise<void>) | undefined;

  /**
   * Creates the histogram; its children start with no observations.
   *
   * @throws {TypeError} when a name is invalid, the name ends in a reserved suffix, `le` is a
   *   label name, the help text is empty, the buckets are empty, not finite or not strictly
   *   increasing, or `sumScale` is not a positive safe integer.
   */
  constructor(options: HistogramOptions) {
    checkSuffixes(options.name, "histogram");
    const bounds = checkBuckets(options.name, options.buckets);
    const scale = checkSumScale(options.name, options.sumScale);
    super(options, {
      type: "histogram",
      createChild: (labelValues, labelText) =>
        new HistogramSeries(bounds, scale, labelValues, labelText),
    });
    this.buckets = bounds;
    this.sumScale = scale;
    this.#collect = options.collect;
  }

  /**
   * The child for these label values (one per label name, in order), created on first use and
   * cached: keep it so that observing needs no lookup.
   *
   * @throws {TypeError} when the number of values does not match the label names.
   */
  labels(...values: string[]): HistogramChild {
    return this.child(values);
  }

  /**
   * Observes `value` on a histogram without labels, with an optional exemplar for its bucket
   * (see {@link HistogramChild.observe}); NaN and ±Infinity are ignored.
   *
   * @throws {TypeError} when the histogram has labels.
   */
  observe(value: number, exemplar?: Exemplar): void {
    this.unlabelled("observe histogram").observe(value, exemplar);
  }

  /** The family as it is now, with its bucket bounds. */
  override snapshot(): FamilySnapshot {
    return { ...super.snapshot(), buckets: this.buckets };
  }

  /** Whether a collect callback was given. */
  get hasCollectCallback(): boolean {
    return this.#collect !== undefined;
  }

  /** Calls the collect callback with this histogram. */
  protected collectCallback(): void | Promise<void> {
    return this.#collect?.(this);
  }
}

function checkSumScale(name: string, scale: number | undefined): number {
  if (scale === undefined) return 0;
  if (!Number.isSafeInteger(scale) || scale < 1) {
    throw new TypeError(
      `Cannot register histogram "${name}": sumScale is ${String(scale)}; it must be a ` +
        "positive safe integer (1e9 for seconds known to the nanosecond)",
    );
  }
  return scale;
}

function checkBuckets(name: string, buckets: readonly number[]): readonly number[] {
  const fail = (why: string): never => {
    throw new TypeError(`Cannot register histogram "${name}": ${why}`);
  };
  if (!Array.isArray(buckets) || buckets.length === 0) {
    return fail("buckets must be a non-empty array of upper bounds");
  }
  let previous = -Infinity;
  for (const [i, bound] of buckets.entries()) {
    if (typeof bound !== "number" || !Number.isFinite(bound)) {
      fail(`bucket ${i} is ${String(bound)}; bounds must be finite numbers (+Inf is implicit)`);
    }
    if (i > 0 && !(bound > previous)) {
      fail(
        `bucket ${i} (${bound}) is not greater than bucket ${i - 1} (${previous}); ` +
          "bounds must be strictly increasing",
      );
    }
    previous = bound;
  }
  return Object.freeze([...buckets]);
}
