/**
 * Ollama's native error responses.
 *
 * @module
 */

import { jsonReply } from "./json_reply.ts";
import type { Reply } from "./reply.ts";

/** `{"error":"..."}` with `status`, as Ollama's handlers answer (after `delayMs`). */
export function ollamaError(
  status: number,
  message: string,
  options: { readonly delayMs?: number } = {},
): Reply {
  return jsonReply(status, { error: message }, { delayMs: options.delayMs ?? 0 });
}
