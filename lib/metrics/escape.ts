/**
 * Escaping shared by the Prometheus text format and OpenMetrics.
 *
 * @module
 */

const LABEL_SPECIAL = /[\\"\n]/;

/**
 * Escapes a label value for the exposition formats: backslash, double quote and line feed become
 * `\\`, `\"` and `\n`; every other character, unicode included, is written as it is.
 */
export function escapeLabelValue(value: string): string {
  if (!LABEL_SPECIAL.test(value)) return value;
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** Escapes HELP text for the Prometheus text format: only backslash and line feed. */
export function escapeHelpText(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** Escapes HELP text for OpenMetrics: backslash, line feed and double quote. */
export function escapeOpenMetricsHelp(help: string): string {
  return escapeLabelValue(help);
}

/**
 * Renders a sample value or a bucket bound as the formats spell it: `+Inf`, `-Inf`, `NaN`, and
 * JavaScript's shortest round-trip notation for everything else (which Prometheus parses).
 */
export function formatNumber(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  return String(value);
}
