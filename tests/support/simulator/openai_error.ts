/**
 * Error responses of the OpenAI-compatible endpoints.
 *
 * @module
 */

import { jsonReply } from "./json_reply.ts";
import { openaiErrorBody } from "./openai_error_body.ts";
import type { Reply } from "./reply.ts";

/**
 * An OpenAI-shaped error reply. `stage: "handler"` (default) is an error of the underlying native
 * handler rewritten by Ollama's OpenAI writer (`application/json`, trailing newline);
 * `stage: "middleware"` is a request rejected before that (`c.AbortWithStatusJSON`:
 * `application/json; charset=utf-8`, no newline).
 */
export function openaiError(
  status: number,
  message: string,
  options: { readonly stage?: "handler" | "middleware"; readonly delayMs?: number } = {},
): Reply {
  return jsonReply(status, openaiErrorBody(status, message), {
    encoder: options.stage !== "middleware",
    delayMs: options.delayMs ?? 0,
  });
}
