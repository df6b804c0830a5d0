/**
 * The sample lines of one family, which the Prometheus text format and OpenMetrics write alike.
 *
 * @module
 */

import { formatNumber } from "./escape.ts";
import type { ExemplarSnapshot } from "./exemplar.ts";
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
 * @param options `omitSum` leaves out `_sum` (OpenMetrics forbids it when a bound is negative);
 *   `exemplars` writes each bucket's exemplar after its count, as OpenMetrics does
 *   (`… 3 # {trace_id="4bf9…"} 0.42 1767323045.123`; the text format 0.0.4 has no exemplars).
 */
export function renderSamples(
  family: FamilySnapshot,
  options: { omitSum?: boolean; exemplars?: boolean } = {},
): string {
  if (family.type === "histogram") {
    return renderHistogram(family, options.omitSum === true, options.exemplars === true);
  }
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

function renderHistogram(family: FamilySnapshot, omitSum: boolean, withExemplars: boolean): string {
  const name = family.name;
  const les = leLabels(family.buckets ?? []);
  const bucketOpen = `${name}_bucket{`;
  let out = "";
  for (const series of family.series) {
    const counts = series.bucketCounts ?? [];
    const open = series.labelText === "" ? bucketOpen : `${bucketOpen}${series.labelText},`;
    const exemplars = withExemplars ? series.exemplars : undefined;
    let cumulative = 0;
    let i = 0;
    if (exemplars === undefined || exemplars.length === 0) {
      for (const le of les) {
        cumulative += counts[i++] ?? 0;
        out += open + le + cumulative + "\n";
      }
    } else {
      for (const le of les) {
        const exemplar = exemplars[i];
        cumulative += counts[i++] ?? 0;
        out += exemplar === undefined
          ? open + le + cumulative + "\n"
          : open + le + cumulative + formatExemplar(exemplar) + "\n";
      }
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

/**
 * ` # {labels} value timestamp`, the timestamp in seconds with millisecond precision
 * (`1767323045.123`).
 */
function formatExemplar(exemplar: ExemplarSnapshot): string {
  return ` # {${exemplar.labelText}} ${formatNumber(exemplar.value)} ${exemplar.timestamp / 1000}`;
}
