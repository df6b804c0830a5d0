/**
 * A stable 32-bit hash of text, used to derive deterministic digests, sizes and vectors.
 *
 * @module
 */

const ENCODER = new TextEncoder();

/** FNV-1a over the UTF-8 bytes of `text`, as an unsigned 32-bit integer. */
export function stringHash(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of ENCODER.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
