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
