/**
 * What every metric family shares: the snapshot types the encoders read, and the base class that
 * keeps a family's children (one per label-value combination).
 *
 * Collecting and encoding are split, as in client_golang: a family hands out {@link FamilySnapshot}s
 * and the encoders only ever see those. Snapshots are cheap: the children themselves implement
 * {@link SeriesSnapshot}, so a snapshot holds the live children (their values are read when the
 * encoder runs, which is synchronous, so every child is internally consistent) and an immutable
 * list of them taken at snapshot time.
 *
 * @module
 */

import { escapeLabelValue } from "./escape.ts";
import type { ExemplarSnapshot } from "./exemplar.ts";
import { validateMetricNames } from "./validate.ts";

/** The metric types this registry can expose. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One child of a family, as the encoders read it. */
export interface SeriesSnapshot {
  /** The label values, in the order of the family's label names. */
  readonly labelValues: readonly string[];
  /** Pre-rendered, escaped `a="x",b="y"`; `""` when the family has no labels. */
  readonly labelText: string;
  /** The counter or gauge value; `0` for histograms. */
  readonly value: number;
  /** Histograms: non-cumulative count per finite bound, then one last entry for `+Inf`. */
  readonly bucketCounts?: readonly number[];
  /** Histograms: the sum of all observations. */
  readonly sum?: number;
  /** Histograms: the number of observations. */
  readonly count?: number;
  /**
   * Histograms: per bucket (indexed as `bucketCounts`), its last exemplar or `undefined`; empty
   * while the child has none. Only OpenMetrics writes them.
   */
  readonly exemplars?: readonly (ExemplarSnapshot | undefined)[];
}

/** A metric family, as the encoders read it. */
export interface FamilySnapshot {
  /** The family name; counters carry their `_total` suffix. */
  readonly name: string;
  /** The unescaped help text. */
  readonly help: string;
  /** The metric type. */
  readonly type: MetricType;
  /** The label names every child carries, in order. */
  readonly labelNames: readonly string[];
  /** Histograms: the finite, strictly increasing upper bounds (`+Inf` is implicit). */
  readonly buckets?: readonly number[];
  /** The children, sorted by label values. */
  readonly series: readonly SeriesSnapshot[];
}

/** The options every family constructor takes. */
export interface MetricFamilyOptions {
  /** The family name, for example `ollama_requests_total`. */
  name: string;
  /** What the metric measures; must not be empty. */
  help: string;
  /** The label names of the children; none by default. */
  labelNames?: readonly string[];
}

/** A child as the base class needs it: a snapshot that can be set back to zero. */
export interface ResettableSeries extends SeriesSnapshot {
  /** Sets the child back to its initial state. */
  reset(): void;
}

/** What a subclass passes to the base constructor besides the user's options. */
export interface MetricFamilyInit<C extends ResettableSeries> {
  /** The metric type. */
  type: MetricType;
  /** Creates a child for the given label values and their pre-rendered text. */
  createChild: (labelValues: readonly string[], labelText: string) => C;
}

type ChildNode<C> = Map<string, ChildNode<C> | C>;

/**
 * `le` and `quantile` belong to histograms and summaries; promtool flags them on any other type,
 * so no family may use them.
 */
const RESERVED_LABELS: readonly string[] = ["le", "quantile"];

const EMPTY_LABEL_VALUES: readonly string[] = Object.freeze([]);

const NO_SERIES: readonly never[] = Object.freeze([]);

/**
 * The base of {@link Counter}, {@link Gauge} and {@link Histogram}: validates the names (`le` and
 * `quantile` are reserved label names for every type), creates and caches children, keeps them
 * sorted by label values, and produces snapshots.
 *
 * Children handed out before `remove()` or `reset()` removed them are detached: updating them
 * still works but is no longer exported. A family without labels always has its one child, which
 * `reset()` zeroes in place.
 */
export abstract class MetricFamily<C extends ResettableSeries> {
  /** The family name. */
  readonly name: string;
  /** The help text. */
  readonly help: string;
  /** The metric type. */
  readonly type: MetricType;
  /** The label names, in order. */
  readonly labelNames: readonly string[];
  readonly #createChild: (labelValues: readonly string[], labelText: string) => C;
  readonly #root: ChildNode<C> = new Map();
  readonly #unlabelled: C | undefined;
  #series: readonly C[];
  /**
   * Whether the family's samples are exported (default `true`). A collect callback sets it to
   * `false` to make a family absent, label-less ones included, while its source does not answer:
   * absent, never stale.
   */
  exported = true;

  /**
   * Validates the names and help text; a family without labels gets its one child at once.
   *
   * @param options The user's name, help and label names.
   * @param init What the subclass adds: the type and a child factory.
   */
  protected constructor(options: MetricFamilyOptions, init: MetricFamilyInit<C>) {
    const labelNames = Object.freeze([...(options.labelNames ?? [])]);
    validateMetricNames(options.name, labelNames, { reserved: RESERVED_LABELS });
    if (typeof options.help !== "string" || options.help.trim() === "") {
      throw new TypeError(`Cannot register metric "${options.name}": the help text is empty`);
    }
    this.name = options.name;
    this.help = options.help;
    this.type = init.type;
    this.labelNames = labelNames;
    this.#createChild = init.createChild;
    if (labelNames.length === 0) {
      this.#unlabelled = init.createChild(EMPTY_LABEL_VALUES, "");
      this.#series = Object.freeze([this.#unlabelled]);
    } else {
      this.#unlabelled = undefined;
      this.#series = Object.freeze([]);
    }
  }

  /**
   * Removes the child with these label values, if it exists. Families without labels keep their
   * child; use `reset()` to zero it.
   */
  remove(...values: string[]): void {
    this.#checkArity(values, "remove a child of");
    if (values.length === 0) return;
    const path: ChildNode<C>[] = [];
    let node: ChildNode<C> = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      const next = node.get(values[i] as string);
      if (next === undefined) return;
      path.push(node);
      node = next as ChildNode<C>;
    }
    const child = node.get(values[last] as string) as C | undefined;
    if (child === undefined) return;
    node.delete(values[last] as string);
    for (let i = path.length - 1; i >= 0 && node.size === 0; i--) {
      const parent = path[i] as ChildNode<C>;
      parent.delete(values[i] as string);
      node = parent;
    }
    this.#series = Object.freeze(this.#series.filter((series) => series !== child));
  }

  /**
   * Removes every child; a family without labels instead zeroes its one child in place.
   */
  reset(): void {
    if (this.#unlabelled !== undefined) {
      this.#unlabelled.reset();
      return;
    }
    this.#root.clear();
    this.#series = Object.freeze([]);
  }

  /** The family as it is now; the children are live, the list of them is fixed. */
  snapshot(): FamilySnapshot {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      labelNames: this.labelNames,
      series: this.exported ? this.#series : NO_SERIES,
    };
  }

  /**
   * Runs the family's collect callback, if it has one, and resolves once it has finished. The
   * registry calls this before taking a snapshot; a rejection means the callback failed.
   */
  async collect(): Promise<void> {
    await this.collectCallback();
  }

  /** Whether the family has a collect callback (the registry skips the others). */
  abstract get hasCollectCallback(): boolean;

  /** Calls the subclass's collect callback with the subclass instance. */
  protected abstract collectCallback(): void | Promise<void>;

  /**
   * Returns the child for these label values, creating and caching it on first use.
   *
   * @throws {TypeError} when the number of values is not the number of label names, or a value is
   *   not a string.
   */
  protected child(values: readonly string[]): C {
    const count = values.length;
    if (count === 0 && this.#unlabelled !== undefined) return this.#unlabelled;
    this.#checkArity(values, "get a child of");
    let node: ChildNode<C> | undefined = this.#root;
    const last = count - 1;
    for (let i = 0; i < last && node !== undefined; i++) {
      node = node.get(values[i] as string) as ChildNode<C> | undefined;
    }
    const found = node?.get(values[last] as string) as C | undefined;
    return found ?? this.#create(values);
  }

  /**
   * Returns the one child of a family without labels.
   *
   * @param action What the caller wanted to do, for the error message, e.g. `increment counter`.
   * @throws {TypeError} when the family has labels.
   */
  protected unlabelled(action: string): C {
    if (this.#unlabelled !== undefined) return this.#unlabelled;
    throw new TypeError(
      `Cannot ${action} "${this.name}": it has labels (${this.labelNames.join(", ")}); ` +
        "call labels(...) with their values first",
    );
  }

  #checkArity(values: readonly string[], action: string): void {
    const expected = this.labelNames.length;
    if (values.length === expected) return;
    const names = expected === 0 ? "none" : this.labelNames.join(", ");
    throw new TypeError(
      `Cannot ${action} metric "${this.name}": expected ${expected} label value(s) (${names}), ` +
        `got ${values.length}`,
    );
  }

  #create(values: readonly string[]): C {
    for (const [i, value] of values.entries()) {
      if (typeof value !== "string") {
        throw new TypeError(
          `Cannot get a child of metric "${this.name}": the value of label ` +
            `"${this.labelNames[i]}" must be a string, got ${typeof value}`,
        );
      }
    }
    const labelValues = Object.freeze([...values]);
    const labelText = this.labelNames
      .map((label, i) => `${label}="${escapeLabelValue(labelValues[i] as string)}"`)
      .join(",");
    const child = this.#createChild(labelValues, labelText);

    let node = this.#root;
    const last = labelValues.length - 1;
    for (let i = 0; i < last; i++) {
      const value = labelValues[i] as string;
      let next = node.get(value) as ChildNode<C> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(value, next);
      }
      node = next;
    }
    node.set(labelValues[last] as string, child);

    const series = [...this.#series];
    series.splice(insertionIndex(series, labelValues), 0, child);
    this.#series = Object.freeze(series);
    return child;
  }
}

function insertionIndex(series: readonly SeriesSnapshot[], values: readonly string[]): number {
  let low = 0;
  let high = series.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareValues((series[middle] as SeriesSnapshot).labelValues, values) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

function compareValues(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
