/**
 * The name suffixes that counter and histogram samples use, which gauge and histogram family
 * names must avoid so that no two families can produce the same sample name (and so that
 * `promtool check metrics` has nothing to complain about).
 *
 * @module
 */

const RESERVED = ["_total", "_created", "_bucket", "_sum", "_count"] as const;

/**
 * Throws when a gauge or histogram name ends in a suffix reserved for the samples of counters and
 * histograms.
 *
 * @param name The family name.
 * @param type The family type, for the error message.
 */
export function checkSuffixes(name: string, type: "gauge" | "histogram"): void {
  if (typeof name !== "string") return; // validateMetricNames reports it.
  const suffix = RESERVED.find((candidate) => name.endsWith(candidate));
  if (suffix === undefined) return;
  throw new TypeError(
    `Cannot register ${type} "${name}": the suffix "${suffix}" is reserved for the samples of ` +
      "counters and histograms",
  );
}
