/**
 * Gauges: values that go up and down (models loaded, requests in flight, memory).
 *
 * @module
 */

import { MetricFamily, type MetricFamilyOptions, type ResettableSeries } from "./metric_family.ts";
import { checkSuffixes } from "./reserved_suffixes.ts";

/**
 * One child of a {@link Gauge}. Any number is accepted, NaN and ±Infinity included (the formats
 * spell them `NaN`, `+Inf`, `-Inf`).
 */
export interface GaugeChild {
  /** Sets the value. */
  set(value: number): void;
  /** Adds `value` (default 1). */
  inc(value?: number): void;
  /** Subtracts `value` (default 1). */
  dec(value?: number): void;
  /** The current value. */
  readonly value: number;
}

/** The options of a {@link Gauge}. */
export interface GaugeOptions extends MetricFamilyOptions {
  /** Called at every scrape before the gauge is encoded, to set its current value(s). */
  collect?: (gauge: Gauge) => void | Promise<void>;
}

class GaugeSeries implements GaugeChild, ResettableSeries {
  readonly labelValues: readonly string[];
  readonly labelText: string;
  #value = 0;

  constructor(labelValues: readonly string[], labelText: string) {
    this.labelValues = labelValues;
    this.labelText = labelText;
  }

  get value(): number {
    return this.#value;
  }

  set(value: number): void {
    this.#value = value;
  }

  inc(value = 1): void {
    this.#value += value;
  }

  dec(value = 1): void {
    this.#value -= value;
  }

  reset(): void {
    this.#value = 0;
  }
}

/**
 * A gauge family. Its name must not end in a suffix that other types' samples use (`_total`,
 * `_created`, `_bucket`, `_sum`, `_count`).
 *
 * @example
 * ```ts
 * const loaded = new Gauge({ name: "ollama_models_loaded", help: "Models in memory." });
 * loaded.set(2);
 * ```
 */
export class Gauge extends MetricFamily<GaugeChild & ResettableSeries> {
  readonly #collect: ((gauge: Gauge) => void | Promise<void>) | undefined;

  /**
   * Creates the gauge; its children start at 0.
   *
   * @throws {TypeError} when the name or a label name is invalid, the name ends in a reserved
   *   suffix, or the help text is empty.
   */
  constructor(options: GaugeOptions) {
    checkSuffixes(options.name, "gauge");
    super(options, {
      type: "gauge",
      createChild: (labelValues, labelText) => new GaugeSeries(labelValues, labelText),
    });
    this.#collect = options.collect;
  }

  /**
   * The child for these label values (one per label name, in order), created on first use and
   * cached: keep it to update it without a lookup.
   *
   * @throws {TypeError} when the number of values does not match the label names.
   */
  labels(...values: string[]): GaugeChild {
    return this.child(values);
  }

  /**
   * Sets a gauge without labels.
   *
   * @throws {TypeError} when the gauge has labels.
   */
  set(value: number): void {
    this.unlabelled("set gauge").set(value);
  }

  /**
   * Adds `value` (default 1) to a gauge without labels.
   *
   * @throws {TypeError} when the gauge has labels.
   */
  inc(value?: number): void {
    this.unlabelled("increment gauge").inc(value);
  }

  /**
   * Subtracts `value` (default 1) from a gauge without labels.
   *
   * @throws {TypeError} when the gauge has labels.
   */
  dec(value?: number): void {
    this.unlabelled("decrement gauge").dec(value);
  }

  /** Whether a collect callback was given. */
  get hasCollectCallback(): boolean {
    return this.#collect !== undefined;
  }

  /** Calls the collect callback with this gauge. */
  protected collectCallback(): void | Promise<void> {
    return this.#collect?.(this);
  }
}
