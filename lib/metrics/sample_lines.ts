/**
 * The sample lines of one family, which the Prometheus text format and OpenMetrics write alike.
 *
 * @module
 */

import { formatNumber } from "./escape.ts";
import { formatBucketBound } from "./format_bucket_bound.ts";
import type { FamilySnapshot } from "./metric_family.ts";

const leCache = new WeakMap<readonly number[], readonly string[]>();

/**
 * Renders the samples of one family, each line ending in a newline; `""` for a family without
 * children. Histograms get cumulative `_bucket` lines in increasing `le` (appended after the
 * user's labels), `le="+Inf"`, then `_sum` and `_count`; the `+Inf` bucket and `_count` are both
 * the sum of the bucket counts, so they always agree.
 *
 * @param family The family to render.
 * @param options `omitSum` leaves out `_sum` (OpenMetrics forbids it when a bound is negative).
 */
export function renderSamples(
  family: FamilySnapshot,
  options: { omitSum?: boolean } = {},
): string {
  if (family.type === "histogram") return renderHistogram(family, options.omitSum === true);
  const name = family.name;
  let out = "";
  for (const series of family.series) {
    const value = formatNumber(series.value);
    out += series.labelText === ""
      ? `${name} ${value}\n`
      : `${name}{${series.labelText}} ${value}\n`;
  }
  return out;
}

function renderHistogram(family: FamilySnapshot, omitSum: boolean): string {
  const name = family.name;
  const les = leLabels(family.buckets ?? []);
  const bucketOpen = `${name}_bucket{`;
  let out = "";
  for (const series of family.series) {
    const counts = series.bucketCounts ?? [];
    const open = series.labelText === "" ? bucketOpen : `${bucketOpen}${series.labelText},`;
    let cumulative = 0;
    let i = 0;
    for (const le of les) {
      cumulative += counts[i++] ?? 0;
      out += open + le + cumulative + "\n";
    }
    const labels = series.labelText === "" ? " " : `{${series.labelText}} `;
    if (!omitSum) out += `${name}_sum${labels}${formatNumber(series.sum ?? 0)}\n`;
    out += `${name}_count${labels}${cumulative}\n`;
  }
  return out;
}

/** `le="…"} ` for every bound plus `+Inf`, cached per bucket array (families keep theirs). */
function leLabels(bounds: readonly number[]): readonly string[] {
  let les = leCache.get(bounds);
  if (les === undefined) {
    les = [...bounds.map(formatBucketBound), "+Inf"].map((le) => `le="${le}"} `);
    leCache.set(bounds, les);
  }
  return les;
}
