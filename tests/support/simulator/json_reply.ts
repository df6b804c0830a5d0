/**
 * JSON bodies as Gin's `c.JSON` and Go's `json.Encoder` write them.
 *
 * @module
 */

import { fixedReply } from "./fixed_reply.ts";
import { goJson } from "./go_json.ts";
import type { Reply } from "./reply.ts";

/**
 * Gin's `c.JSON`: Go-encoded JSON without a trailing newline, `application/json; charset=utf-8`.
 * With `encoder: true`, Go's `json.NewEncoder(w).Encode` instead: trailing newline and plain
 * `application/json` (what Ollama's OpenAI layer writes).
 */
export function jsonReply(
  status: number,
  value: unknown,
  options: { readonly delayMs?: number; readonly encoder?: boolean } = {},
): Reply {
  const encoder = options.encoder === true;
  return fixedReply(status, encoder ? `${goJson(value)}\n` : goJson(value), {
    contentType: encoder ? "application/json" : "application/json; charset=utf-8",
    delayMs: options.delayMs ?? 0,
  });
}
