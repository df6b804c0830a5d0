/**
 * Timestamps in Go's `time.RFC3339Nano` layout, as Ollama writes `created_at` and `expires_at`.
 *
 * @module
 */

/**
 * Formats a time given in (possibly fractional) milliseconds since the epoch as Go marshals a UTC
 * `time.Time`: `2025-01-02T03:04:05.123456789Z`, with trailing zeros of the fraction dropped and
 * no fraction at all when it is zero.
 */
export function goTime(epochMs: number): string {
  const wholeMs = Math.floor(epochMs);
  const subMsNanos = Math.min(999_999, Math.round((epochMs - wholeMs) * 1e6));
  const date = new Date(wholeMs);
  if (Number.isNaN(date.getTime())) {
    throw new RangeError(
      `Cannot format ${epochMs} as a time: it is outside the representable range`,
    );
  }
  const base = date.toISOString().slice(0, 19);
  const nanos = date.getUTCMilliseconds() * 1e6 + subMsNanos;
  if (nanos === 0) return `${base}Z`;
  const fraction = String(nanos).padStart(9, "0").replace(/0+$/, "");
  return `${base}.${fraction}Z`;
}
