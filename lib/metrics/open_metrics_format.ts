/**
 * The OpenMetrics 1.0 text format.
 *
 * @module
 */

import { escapeOpenMetricsHelp } from "./escape.ts";
import type { FamilySnapshot } from "./metric_family.ts";
import { renderSamples } from "./sample_lines.ts";

/** The Content-Type of {@link encodeOpenMetrics}'s output. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

const TOTAL = "_total";

/**
 * Encodes families in OpenMetrics 1.0: per family `# HELP` (backslash, line feed and double quote
 * escaped) and `# TYPE` under the family name, which for counters is the name without `_total`,
 * then the samples (counters keep `_total`), and `# EOF` as the last line. Families without
 * children keep their HELP and TYPE lines. A histogram with a negative bound gets no `_sum`, as
 * OpenMetrics requires. Histogram buckets carry their exemplars:
 * `name_bucket{le="0.5"} 3 # {trace_id="4bf9…"} 0.42 1767323045.123` (the observed value, then
 * the time of the observation in seconds).
 */
export function encodeOpenMetrics(families: readonly FamilySnapshot[]): string {
  let out = "";
  for (const family of families) {
    const name = family.type === "counter" && family.name.endsWith(TOTAL)
      ? family.name.slice(0, -TOTAL.length)
      : family.name;
    const omitSum = family.type === "histogram" && (family.buckets?.[0] ?? 0) < 0;
    out += `# HELP ${name} ${escapeOpenMetricsHelp(family.help)}\n` +
      `# TYPE ${name} ${family.type}\n` +
      renderSamples(family, { omitSum, exemplars: true });
  }
  return out + "# EOF\n";
}
