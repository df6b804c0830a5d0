/**
 * The one tool call a scripted tool-calling model makes (like the real `tiny-tools`).
 *
 * @module
 */

import { stringHash } from "./string_hash.ts";

/** A tool call the simulator will emit. */
export interface PlannedToolCall {
  /** `call_` and eight lower-case letters or digits, as Ollama names calls. */
  readonly id: string;
  /** Position among the calls of one answer (always 0: one call). */
  readonly index: number;
  /** The function called. */
  readonly name: string;
  /** The arguments object, in key order. */
  readonly arguments: Readonly<Record<string, unknown>>;
}

/** The function a scripted tool caller calls. */
export const SCRIPTED_TOOL_NAME = "get_weather";

/**
 * The three text tokens of the scripted call as the model writes it; with tools offered Ollama's
 * parser turns them into one tool call, without tools they are the answer text.
 */
export const SCRIPTED_TOOL_TOKENS: readonly string[] = Object.freeze([
  "<tool_call>",
  `{"name": "${SCRIPTED_TOOL_NAME}", "arguments": {"city": "Paris"}}`,
  "</tool_call>",
]);

const ID_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789";

/**
 * The scripted call, `get_weather({"city":"Paris"})`, with an id derived from `seed` (the model
 * and its input), so that a test can compute it: Ollama draws it at random.
 */
export function plannedToolCall(seed: string): PlannedToolCall {
  let hash = stringHash(seed);
  let id = "call_";
  for (let i = 0; i < 8; i++) {
    id += ID_LETTERS[hash % ID_LETTERS.length];
    hash = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return { id, index: 0, name: SCRIPTED_TOOL_NAME, arguments: { city: "Paris" } };
}
