/**
 * /v1/chat/completions and /v1/completions answers, as Ollama's OpenAI compatibility layer
 * writes them.
 *
 * @module
 */

import type { GenerationSetup } from "./generation_setup.ts";
import type { GenerationStep } from "./generation_timeline.ts";
import { jsonReply } from "./json_reply.ts";
import { mapParts } from "./map_parts.ts";
import { openAiChunk } from "./openai_chunks.ts";
import { openAiCompletion } from "./openai_completion.ts";
import { openaiError } from "./openai_error.ts";
import { openaiErrorBody } from "./openai_error_body.ts";
import type { OpenAiIdentity } from "./openai_identity.ts";
import { type BodyPart, type Reply, textPart } from "./reply.ts";
import { sseFrame } from "./sse_frame.ts";
import { streamReply } from "./stream_reply.ts";

/**
 * The answer to a planned OpenAI-compatible generation.
 *
 * Streaming (`text/event-stream`): one `data:` frame per token; for chat the first delta carries
 * `role`, later ones only `content`, and a separate finish chunk has `delta:{}` and the
 * `finish_reason` (Ollama ≥ 0.32.6); for completions the last token chunk is followed by one with
 * empty text and the `finish_reason`, and every chunk carries `"usage"` zeros when
 * `include_usage` is set. The final group (last text, finish chunk, the usage chunk
 * `choices:[]` when `include_usage`, `data: [DONE]`) is one write, as Ollama flushes it at once.
 *
 * A mid-stream failure: Ollama keeps status 200 and the stream ends with a frame
 * `data: {"error":{"message",...,"type":"api_error","param":null,"code":null}}` and no `[DONE]`;
 * the OpenAI SDKs turn that frame into an `APIError`. A failure before any chunk is a 500
 * OpenAI-shaped error.
 *
 * Not streaming: one object with `usage`, `application/json` and a trailing newline.
 */
export function openAiGenerationReply(
  setup: GenerationSetup,
  identity: OpenAiIdentity,
  options: { readonly stream: boolean },
): Reply {
  const { plan, timeline } = setup;
  if (!options.stream) {
    const delayMs = timeline.totalDelayMs;
    if (timeline.failure !== undefined) return openaiError(500, timeline.failure, { delayMs });
    const completion = openAiCompletion(identity, {
      model: plan.model,
      text: plan.text,
      finishReason: plan.doneReason,
      usage: plan.usage,
    });
    return jsonReply(200, completion, { encoder: true, delayMs });
  }
  if (timeline.failsAtStart && timeline.failure !== undefined) {
    return openaiError(500, timeline.failure, { delayMs: timeline.totalDelayMs });
  }
  let roleSent = false;
  const delta = (content?: string): Record<string, string> => {
    const fields: Record<string, string> = roleSent ? {} : { role: "assistant" };
    if (content !== undefined) fields["content"] = content;
    roleSent = true;
    return fields;
  };
  const model = plan.model;
  const partFor = (step: GenerationStep): BodyPart => {
    if (step.kind === "error") {
      return textPart(sseFrame(openaiErrorBody(500, step.message)), step.delayMs);
    }
    if (step.kind === "token") {
      const chunk = openAiChunk(identity, { model, delta: delta(step.text), text: step.text });
      return textPart(sseFrame(chunk), step.delayMs);
    }
    let text = "";
    const finishReason = plan.doneReason;
    if (identity.kind === "chat") {
      if (step.text !== "") {
        text += sseFrame(openAiChunk(identity, { model, delta: delta(step.text) }));
      }
      text += sseFrame(openAiChunk(identity, { model, delta: delta(), finishReason }));
    } else {
      text += sseFrame(openAiChunk(identity, { model, text: step.text, finishReason }));
    }
    if (identity.includeUsage) {
      text += sseFrame(openAiChunk(identity, { model, usage: plan.usage }));
    }
    return textPart(`${text}data: [DONE]\n\n`, step.delayMs);
  };
  return streamReply("text/event-stream", mapParts(timeline.steps(), partFor));
}
