/**
 * Deterministic stand-ins for the random ids Ollama gives its answers.
 *
 * @module
 */

import { hexDigest } from "./hex_digest.ts";
import { stringHash } from "./string_hash.ts";

/**
 * `length` (at most 64) lower-case hex digits derived from `seed` and `salt`: the same request
 * body always gets the same ids, so a test can compare the answer of the simulator and of a
 * proxy byte for byte (Ollama draws them at random).
 */
export function requestHashId(
  seed: string,
  options: { readonly salt: string; readonly length: number },
): string {
  return hexDigest(stringHash(`${options.salt}\n${seed}`)).slice(0, options.length);
}
