/**
 * Counters: values that only go up (requests served, tokens generated).
 *
 * @module
 */

import { MetricFamily, type MetricFamilyOptions, type ResettableSeries } from "./metric_family.ts";

/** One child of a {@link Counter}: the counter for one combination of label values. */
export interface CounterChild {
  /**
   * Adds `value` (default 1).
   *
   * @throws {RangeError} when `value` is negative, NaN or infinite, or the total would become
   *   infinite (the counter keeps its value).
   */
  inc(value?: number): void;
  /** The current value. */
  readonly value: number;
}

/** The options of a {@link Counter}. */
export interface CounterOptions extends MetricFamilyOptions {
  /**
   * Called at every scrape before the counter is encoded, to bring it up to date (for example
   * from a source that keeps its own total: `c.inc(total - c.labels().value)`).
   */
  collect?: (counter: Counter) => void | Promise<void>;
}

const TOTAL = "_total";

class CounterSeries implements CounterChild, ResettableSeries {
  readonly labelValues: readonly string[];
  readonly labelText: string;
  readonly #name: string;
  #value = 0;

  constructor(name: string, labelValues: readonly string[], labelText: string) {
    this.#name = name;
    this.labelValues = labelValues;
    this.labelText = labelText;
  }

  get value(): number {
    return this.#value;
  }

  inc(value = 1): void {
    // Rejects negatives, NaN (every comparison is false) and +Infinity in one test.
    if (!(value >= 0 && value < Infinity)) {
      throw new RangeError(
        `Cannot increment counter "${this.#name}" by ${value}: ` +
          "a counter only goes up by a finite, non-negative amount",
      );
    }
    const sum = this.#value + value;
    if (sum === Infinity) {
      throw new RangeError(
        `Cannot increment counter "${this.#name}" by ${value}: ` +
          `the total would no longer be finite (it is ${this.#value})`,
      );
    }
    this.#value = sum;
  }

  reset(): void {
    this.#value = 0;
  }
}

/**
 * A counter family. The name must end in `_total`: OpenMetrics names the family without that
 * suffix and the samples with it.
 *
 * @example
 * ```ts
 * const requests = new Counter({
 *   name: "ollama_requests_total",
 *   help: "Requests proxied to Ollama.",
 *   labelNames: ["model", "endpoint"],
 * });
 * requests.labels("llama3.2", "/api/chat").inc();
 * ```
 */
export class Counter extends MetricFamily<CounterChild & ResettableSeries> {
  readonly #collect: ((counter: Counter) => void | Promise<void>) | undefined;

  /**
   * Creates the counter; its children start at 0.
   *
   * @throws {TypeError} when the name or a label name is invalid, the name does not end in
   *   `_total`, or the help text is empty.
   */
  constructor(options: CounterOptions) {
    checkCounterName(options.name);
    const name = options.name;
    super(options, {
      type: "counter",
      createChild: (labelValues, labelText) => new CounterSeries(name, labelValues, labelText),
    });
    this.#collect = options.collect;
  }

  /**
   * The child for these label values (one per label name, in order), created on first use and
   * cached: keep it to update it without a lookup.
   *
   * @throws {TypeError} when the number of values does not match the label names.
   */
  labels(...values: string[]): CounterChild {
    return this.child(values);
  }

  /**
   * Adds `value` (default 1) to a counter without labels.
   *
   * @throws {TypeError} when the counter has labels.
   * @throws {RangeError} when `value` is negative, NaN or infinite, or the total would not be
   *   finite.
   */
  inc(value?: number): void {
    this.unlabelled("increment counter").inc(value);
  }

  /** Whether a collect callback was given. */
  get hasCollectCallback(): boolean {
    return this.#collect !== undefined;
  }

  /** Calls the collect callback with this counter. */
  protected collectCallback(): void | Promise<void> {
    return this.#collect?.(this);
  }
}

function checkCounterName(name: string): void {
  if (typeof name !== "string" || !name.endsWith(TOTAL) || name.length === TOTAL.length) {
    throw new TypeError(
      `Cannot register counter "${name}": a counter name must end in "${TOTAL}" ` +
        "after a non-empty base name (OpenMetrics names the family without the suffix)",
    );
  }
}
