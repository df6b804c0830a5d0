/**
 * Deterministic SHA-256-looking digests.
 *
 * @module
 */

import { seededRandom } from "./seeded_random.ts";

/** 64 lower-case hex digits derived from `seed` (not a real hash of anything). */
export function hexDigest(seed: number): string {
  const random = seededRandom(seed);
  let hex = "";
  while (hex.length < 64) hex += Math.floor(random() * 0x100000000).toString(16).padStart(8, "0");
  return hex.slice(0, 64);
}
