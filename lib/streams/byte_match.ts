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

/** Where `pattern` first occurs in `line` at or after `from`, or -1. */
export function indexOfBytes(line: Uint8Array, pattern: Uint8Array, from = 0): number {
  const first = pattern[0]!;
  const last = line.length - pattern.length;
  let at = line.indexOf(first, from);
  while (at !== -1 && at <= last) {
    let i = 1;
    while (i < pattern.length && line[at + i] === pattern[i]) i++;
    if (i === pattern.length) return at;
    at = line.indexOf(first, at + 1);
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
