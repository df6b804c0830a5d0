/**
 * /v1/chat/completions and /v1/completions answers, as Ollama's OpenAI compatibility layer
 * writes them.
 *
 * @module
 */

import type { OutputPiece } from "./expected_completion.ts";
import type { GenerationSetup } from "./generation_setup.ts";
import type { GenerationStep } from "./generation_timeline.ts";
import { jsonReply } from "./json_reply.ts";
import { mapParts } from "./map_parts.ts";
import { openAiChunk, openAiToolCalls } from "./openai_chunks.ts";
import { openAiCompletion } from "./openai_completion.ts";
import { openaiError } from "./openai_error.ts";
import type { OpenAiIdentity } from "./openai_identity.ts";
import { type Reply, textPart } from "./reply.ts";
import { sseFrame } from "./sse_frame.ts";
import { streamReply } from "./stream_reply.ts";

/**
 * The answer to a planned OpenAI-compatible generation.
 *
 * Streaming (`text/event-stream`), one write per native line, as Ollama's writer turns each line
 * into `data:` frames:
 * - chat, `0.32.6` shape: every delta carries `content` (`""` beside `reasoning` or
 *   `tool_calls`), `role` only the first; the last native line adds a finish chunk with
 *   `delta:{}` and the `finish_reason` (`tool_calls` instead of `stop` after a tool call); one
 *   `created` for the stream;
 * - chat, `0.24` shape: every delta carries `"role":"assistant"` and `content`; the last native
 *   line becomes a delta with empty content and the `finish_reason` (`tool_calls` once a tool
 *   call was sent, whatever the reason); `created` is read for each chunk;
 * - completions: one chunk per line (`text` "" for thinking), the last with the `finish_reason`;
 *   every chunk carries zero `usage` when `include_usage` is set; `created` per chunk.
 *
 * The final write holds the finish chunk, the usage chunk (`choices:[]`, when `include_usage`)
 * and `data: [DONE]`. A mid-stream failure: Ollama's `{"error":...}` line goes through the same
 * writer and becomes one last ordinary chunk with `"model":""`, empty content or text and
 * `finish_reason:null`; then the stream ends, without `[DONE]`. A failure before any chunk is a
 * 500 OpenAI-shaped error.
 *
 * Not streaming: one object with `usage`, `application/json` and a trailing newline.
 */
export function openAiGenerationReply(
  setup: GenerationSetup,
  identity: OpenAiIdentity,
  options: { readonly stream: boolean; readonly clock: () => number },
): Reply {
  const { plan, timeline } = setup;
  const newShape = identity.format === "0.32.6";
  const called = plan.toolCalls.length > 0;
  if (!options.stream) {
    const delayMs = timeline.totalDelayMs;
    if (timeline.failure !== undefined) return openaiError(500, timeline.failure, { delayMs });
    const toolCallsFinish = called && (!newShape || plan.doneReason === "stop");
    const completion = openAiCompletion(identity, {
      model: plan.model,
      text: plan.text,
      finishReason: toolCallsFinish && identity.kind === "chat" ? "tool_calls" : plan.doneReason,
      usage: plan.usage,
      reasoning: plan.thinking,
      toolCalls: plan.toolCalls,
    });
    return jsonReply(200, completion, { encoder: true, delayMs });
  }
  if (timeline.failsAtStart && timeline.failure !== undefined) {
    return openaiError(500, timeline.failure, { delayMs: timeline.totalDelayMs });
  }
  const now = (): number => Math.floor(options.clock() / 1000);
  const write = identity.kind === "completion"
    ? completionWriter(identity, { model: plan.model, now })
    : chatWriter(identity, { model: plan.model, now });
  const partFor = (step: GenerationStep) => {
    let text: string;
    if (step.kind === "error") {
      text = write.line({ kind: "content", text: "" }, "");
    } else if (step.kind === "piece") {
      text = write.line(step.piece, plan.model);
    } else {
      text = write.done(step.text, plan);
    }
    return text === "" ? undefined : textPart(text, step.delayMs);
  };
  return streamReply("text/event-stream", mapParts(timeline.steps(), partFor));
}

/** Turns native lines into `data:` frames for one stream. */
interface StreamWriter {
  /** The frames of one intermediate line (`model` "" for the line an error becomes). */
  line(piece: OutputPiece, model: string): string;
  /** The frames of the final line: last text, finish, usage, `[DONE]`. */
  done(finalText: string, plan: GenerationSetup["plan"]): string;
}

function completionWriter(
  identity: OpenAiIdentity,
  context: { readonly model: string; readonly now: () => number },
): StreamWriter {
  return {
    line(piece, model) {
      const text = piece.kind === "content" ? piece.text : "";
      return sseFrame(openAiChunk(identity, { model, created: context.now(), text }));
    },
    done(finalText, plan) {
      const created = context.now();
      const { model } = context;
      let text = sseFrame(
        openAiChunk(identity, { model, created, text: finalText, finishReason: plan.doneReason }),
      );
      if (identity.includeUsage) {
        text += sseFrame(openAiChunk(identity, { model, created, usage: plan.usage }));
      }
      return `${text}data: [DONE]\n\n`;
    },
  };
}

function chatWriter(
  identity: OpenAiIdentity,
  context: { readonly model: string; readonly now: () => number },
): StreamWriter {
  const newShape = identity.format === "0.32.6";
  let firstSent = false;
  let toolCallSent = false;
  const created = (): number => newShape ? identity.created : context.now();
  const delta = (piece: OutputPiece): Record<string, unknown> => {
    const fields: Record<string, unknown> = newShape && firstSent ? {} : { role: "assistant" };
    firstSent = true;
    fields["content"] = piece.kind === "content" ? piece.text : "";
    if (piece.kind === "thinking") fields["reasoning"] = piece.text;
    if (piece.kind === "tool_calls") {
      fields["tool_calls"] = openAiToolCalls(piece.calls);
      toolCallSent = true;
    }
    return fields;
  };
  return {
    line(piece, model) {
      const chunk = openAiChunk(identity, { model, created: created(), delta: delta(piece) });
      return sseFrame(chunk);
    },
    done(finalText, plan) {
      const { model } = context;
      const at = created();
      let text = "";
      let finishReason: string = plan.doneReason;
      if (newShape) {
        if (!firstSent || finalText !== "") {
          const content = { kind: "content" as const, text: finalText };
          text += sseFrame(openAiChunk(identity, { model, created: at, delta: delta(content) }));
        }
        if (finishReason === "stop" && toolCallSent) finishReason = "tool_calls";
        text += sseFrame(openAiChunk(identity, { model, created: at, delta: {}, finishReason }));
      } else {
        if (toolCallSent) finishReason = "tool_calls";
        const content = delta({ kind: "content", text: finalText });
        text += sseFrame(
          openAiChunk(identity, { model, created: at, delta: content, finishReason }),
        );
      }
      if (identity.includeUsage) {
        text += sseFrame(openAiChunk(identity, { model, created: at, usage: plan.usage }));
      }
      return `${text}data: [DONE]\n\n`;
    },
  };
}
