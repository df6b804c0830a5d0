/**
 * The registry: the set of families one `/metrics` endpoint exposes.
 *
 * @module
 */

import { Counter, type CounterOptions } from "./counter.ts";
import { Gauge, type GaugeOptions } from "./gauge.ts";
import { Histogram, type HistogramOptions } from "./histogram.ts";
import type { FamilySnapshot } from "./metric_family.ts";

/** A family the registry can hold. */
export type RegisteredFamily = Counter | Gauge | Histogram;

/** The options of a {@link Registry}. */
export interface RegistryOptions {
  /**
   * Told about every collect callback that throws, rejects or times out, with the family's name
   * and the error; the scrape goes on with what the family already has. Defaults to
   * `console.error`.
   */
  onCollectError?: (name: string, error: unknown) => void;
  /**
   * How long a collect callback may take, in milliseconds, before the scrape goes on without
   * waiting for it (it is reported as an error); default 5000. `Infinity` waits for ever.
   */
  collectTimeoutMs?: number;
}

const DEFAULT_COLLECT_TIMEOUT_MS = 5000;

/**
 * Holds metric families and collects them for a scrape, sorted by name.
 *
 * Besides duplicate names, registration rejects families whose samples or OpenMetrics family
 * name would clash with another family's (counter `foo_total` and gauge `foo` are both family
 * `foo` in OpenMetrics).
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * const requests = registry.counter({ name: "app_requests_total", help: "Requests." });
 * requests.inc();
 * const text = encodeText(await registry.collect());
 * ```
 */
export class Registry {
  readonly #families = new Map<string, RegisteredFamily>();
  /** Every name a family's samples or OpenMetrics metadata use, mapped to the family's name. */
  readonly #claimed = new Map<string, string>();
  readonly #onCollectError: (name: string, error: unknown) => void;
  readonly #timeoutMs: number;
  #sorted: readonly RegisteredFamily[] = [];
  #running: Promise<FamilySnapshot[]> | undefined;

  /**
   * Creates an empty registry.
   *
   * @throws {RangeError} when `collectTimeoutMs` is not a positive number.
   */
  constructor(options: RegistryOptions = {}) {
    this.#onCollectError = options.onCollectError ?? reportToConsole;
    this.#timeoutMs = options.collectTimeoutMs ?? DEFAULT_COLLECT_TIMEOUT_MS;
    if (!(this.#timeoutMs > 0)) {
      throw new RangeError(
        `Cannot create a registry: collectTimeoutMs must be a positive number, got ${this.#timeoutMs}`,
      );
    }
  }

  /**
   * Adds a family and returns it.
   *
   * @throws {Error} when a family with the same name is registered, or the family's sample names
   *   would clash with another family's.
   */
  register<T extends RegisteredFamily>(family: T): T {
    if (
      !(family instanceof Counter || family instanceof Gauge || family instanceof Histogram)
    ) {
      throw new TypeError("Cannot register metric: it is not a Counter, Gauge or Histogram");
    }
    if (this.#families.has(family.name)) {
      throw new Error(
        `Cannot register metric "${family.name}": a metric with this name is already registered`,
      );
    }
    const claims = claimedNames(family);
    for (const claim of claims) {
      const owner = this.#claimed.get(claim);
      if (owner !== undefined) {
        throw new Error(
          `Cannot register metric "${family.name}": it would expose "${claim}", which metric ` +
            `"${owner}" already exposes`,
        );
      }
    }
    for (const claim of claims) this.#claimed.set(claim, family.name);
    this.#families.set(family.name, family);
    this.#sorted = [...this.#families.values()].sort(byName);
    return family;
  }

  /** Removes the family with this name; returns whether there was one. */
  unregister(name: string): boolean {
    const family = this.#families.get(name);
    if (family === undefined) return false;
    for (const claim of claimedNames(family)) this.#claimed.delete(claim);
    this.#families.delete(name);
    this.#sorted = this.#sorted.filter((candidate) => candidate !== family);
    return true;
  }

  /** Creates and registers a {@link Counter}; throws as the constructor and `register` do. */
  counter(options: CounterOptions): Counter {
    return this.register(new Counter(options));
  }

  /** Creates and registers a {@link Gauge}; throws as the constructor and `register` do. */
  gauge(options: GaugeOptions): Gauge {
    return this.register(new Gauge(options));
  }

  /** Creates and registers a {@link Histogram}; throws as the constructor and `register` do. */
  histogram(options: HistogramOptions): Histogram {
    return this.register(new Histogram(options));
  }

  /** The registered family names, sorted. */
  names(): string[] {
    return this.#sorted.map((family) => family.name);
  }

  /**
   * Runs every family's collect callback (concurrently) and returns the snapshots, sorted by
   * name. Never rejects: a callback that throws, rejects or outlives `collectTimeoutMs` is
   * reported to `onCollectError` and its family is exposed with the values it already has.
   * Concurrent calls share one run of the callbacks.
   */
  collect(): Promise<FamilySnapshot[]> {
    this.#running ??= this.#collectAll().finally(() => {
      this.#running = undefined;
    });
    return this.#running.then((snapshots) => [...snapshots]);
  }

  async #collectAll(): Promise<FamilySnapshot[]> {
    const families = this.#sorted;
    await Promise.all(
      families.map((family) => family.hasCollectCallback ? this.#runCallback(family) : undefined),
    );
    return families.map((family) => family.snapshot());
  }

  async #runCallback(family: RegisteredFamily): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const done = family.collect();
      if (this.#timeoutMs === Infinity) {
        await done;
        return;
      }
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(
            new Error(`the collect callback did not finish within ${this.#timeoutMs} ms`),
          );
        }, this.#timeoutMs);
      });
      await Promise.race([done, timeout]);
    } catch (error) {
      try {
        this.#onCollectError(family.name, error);
      } catch {
        // A failing error reporter must not break the scrape either.
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

function byName(a: RegisteredFamily, b: RegisteredFamily): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The sample names and the OpenMetrics family name a family uses. */
function claimedNames(family: RegisteredFamily): string[] {
  const name = family.name;
  switch (family.type) {
    case "counter": {
      const base = name.slice(0, -"_total".length);
      return [name, base, `${base}_created`];
    }
    case "gauge":
      return [name];
    case "histogram":
      return [name, `${name}_bucket`, `${name}_sum`, `${name}_count`, `${name}_created`];
  }
}

function reportToConsole(name: string, error: unknown): void {
  console.error(`Cannot collect metric "${name}" (exposing its last values):`, error);
}
