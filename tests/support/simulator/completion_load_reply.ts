/**
 * The /v1/completions answer to an empty prompt.
 *
 * @module
 */

import { jsonReply } from "./json_reply.ts";
import { openAiChunk, ZERO_USAGE } from "./openai_chunks.ts";
import { openAiCompletion } from "./openai_completion.ts";
import type { OpenAiIdentity } from "./openai_identity.ts";
import { type Reply, textPart } from "./reply.ts";
import { sseFrame } from "./sse_frame.ts";
import { streamReply } from "./stream_reply.ts";

/**
 * Ollama's generate handler answers an empty prompt with a `done_reason:"load"` object, which the
 * OpenAI layer turns into one chunk with empty text and `finish_reason:"load"` (then the zero
 * usage chunk when `include_usage`, then `[DONE]`), or a completion with empty text and zero
 * usage when not streaming.
 */
export function completionLoadReply(
  identity: OpenAiIdentity,
  options: { readonly model: string; readonly stream: boolean },
): Reply {
  const { model } = options;
  if (!options.stream) {
    const completion = openAiCompletion(identity, {
      model,
      text: "",
      finishReason: "load",
      usage: ZERO_USAGE,
    });
    return jsonReply(200, completion, { encoder: true });
  }
  let text = sseFrame(openAiChunk(identity, { model, text: "", finishReason: "load" }));
  if (identity.includeUsage) text += sseFrame(openAiChunk(identity, { model, usage: ZERO_USAGE }));
  return streamReply("text/event-stream", [textPart(`${text}data: [DONE]\n\n`)]);
}
