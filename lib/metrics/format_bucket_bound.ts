/**
 * The spelling of histogram bucket bounds in the `le` label.
 *
 * @module
 */

/**
 * Renders a bucket bound the way Prometheus 3 normalizes `le` values when it ingests them
 * (`FormatOpenMetricsFloat`: Go's shortest `%g`, plus `.0` when the result has neither a `.` nor
 * an exponent). Both encoders use it, so a series keeps the same `le` whatever format the scraper
 * negotiates, on Prometheus 2 (which stores `le` as written) and 3 alike.
 *
 * Examples: `1` → `1.0`, `0.005` → `0.005`, `131072` → `131072.0`, `1e6` → `1e+06`,
 * `0.00001` → `1e-05`, `Infinity` → `+Inf`.
 */
export function formatBucketBound(bound: number): string {
  if (bound === Infinity) return "+Inf";
  if (bound === -Infinity) return "-Inf";
  if (Number.isNaN(bound)) return "NaN";
  if (bound === 0) return "0.0";
  const sign = bound < 0 ? "-" : "";
  const magnitude = Math.abs(bound);
  // toExponential() without digits gives the shortest round-trip digits, as Go's -1 precision.
  const [mantissa = "", exponentText = "0"] = magnitude.toExponential().split("e");
  const exponent = Number(exponentText);
  let text: string;
  if (exponent < -4 || exponent >= 6) {
    const digits = Math.abs(exponent) < 10 ? `0${Math.abs(exponent)}` : String(Math.abs(exponent));
    text = `${mantissa}e${exponent < 0 ? "-" : "+"}${digits}`;
  } else {
    // Here JavaScript and Go both write plain decimals with the same shortest digits.
    text = String(magnitude);
  }
  if (!text.includes(".") && !text.includes("e")) text += ".0";
  return sign + text;
}
