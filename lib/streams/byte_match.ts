/**
 * Comparisons of raw bytes, so the hot path can classify a line by its first or last bytes
 * without decoding it.
 *
 * @module
 */

/** Whether `line` ends with `suffix`. */
export function endsWith(line: Uint8Array, suffix: Uint8Array): boolean {
  const offset = line.length - suffix.length;
  if (offset < 0) return false;
  for (let i = suffix.length - 1; i >= 0; i--) {
    if (line[offset + i] !== suffix[i]) return false;
  }
  return true;
}

/** Whether `line` starts with `prefix`. */
export function startsWith(line: Uint8Array, prefix: Uint8Array): boolean {
  if (line.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (line[i] !== prefix[i]) return false;
  return true;
}

/**
 * Where `pattern` first occurs in `line` at or after `from`, or -1. A plain loop: for lines of a
 * few hundred bytes it is several times cheaper than calling `indexOf` for every candidate byte.
 */
export function indexOfBytes(line: Uint8Array, pattern: Uint8Array, from = 0): number {
  const first = pattern[0]!;
  const size = pattern.length;
  const last = line.length - size;
  outer: for (let at = from; at <= last; at++) {
    if (line[at] !== first) continue;
    for (let i = 1; i < size; i++) if (line[at + i] !== pattern[i]) continue outer;
    return at;
  }
  return -1;
}

/**
 * Whether `line` holds the JSON member whose key and opening quote are `keyQuote` (e.g.
 * `"content":"`) with a non-empty string value. In compact JSON a quote inside a string is
 * escaped, so `"content":"` only matches a real key.
 */
export function hasNonEmptyString(line: Uint8Array, keyQuote: Uint8Array): boolean {
  const at = indexOfBytes(line, keyQuote);
  return at !== -1 && at + keyQuote.length < line.length && line[at + keyQuote.length] !== 0x22;
}
