/**
 * The Prometheus text exposition format, version 0.0.4.
 *
 * @module
 */

import { escapeHelpText } from "./escape.ts";
import type { FamilySnapshot } from "./metric_family.ts";
import { renderSamples } from "./sample_lines.ts";

/** The Content-Type of {@link encodeText}'s output. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Encodes families in the Prometheus text format 0.0.4: per family `# HELP` (backslash and line
 * feed escaped), `# TYPE`, then its samples. Families without children (labelled, never used) keep
 * their HELP and TYPE lines and have no samples. The families are written in the order given (the
 * registry sorts them by name); a non-empty body ends with a newline. Exemplars are never written:
 * this format has no syntax for them (Prometheus's text parser rejects a line that has one).
 */
export function encodeText(families: readonly FamilySnapshot[]): string {
  let out = "";
  for (const family of families) {
    out += `# HELP ${family.name} ${escapeHelpText(family.help)}\n` +
      `# TYPE ${family.name} ${family.type}\n` +
      renderSamples(family);
  }
  return out;
}
