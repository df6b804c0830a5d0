/**
 * /v1/chat/completions and /v1/completions answers, as Ollama's OpenAI compatibility layer
 * writes them.
 *
 * @module
 */

import type { GenerationSetup } from "./generation_setup.ts";
import {
  generationFailure,
  type GenerationStep,
  generationSteps,
  generationTime,
} from "./generation_steps.ts";
import { goJson } from "./go_json.ts";
import { mapParts } from "./map_parts.ts";
import {
  jsonReply,
  openaiError,
  openaiErrorBody,
  type Reply,
  streamReply,
  textPart,
} from "./reply.ts";
import type { RouteContext } from "./route_types.ts";

/** Which OpenAI-compatible endpoint is answering. */
export type OpenAiKind = "chat" | "completion";

/** Per-request identity of an OpenAI-compatible answer. */
export interface OpenAiIdentity {
  /** `chatcmpl-N` or `cmpl-N`. */
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  /** `stream_options.include_usage`. */
  readonly includeUsage: boolean;
}

const FINGERPRINT = "fp_ollama";

/** The SSE frame Ollama writes for an object: `data: <json>\n\n`. */
export function sseFrame(value: unknown): string {
  return `data: ${goJson(value)}\n\n`;
}

/**
 * The answer to a planned OpenAI-compatible generation.
 *
 * Streaming (`text/event-stream`): one `data:` frame per token; for chat the first delta carries
 * `role`, later ones only `content`, and a separate finish chunk has `delta:{}` and the
 * `finish_reason`; for completions every chunk carries `"usage":{0,0,0}` when `include_usage`
 * is set. The final group (last text, finish chunk, usage chunk `choices:[]` when
 * `include_usage`, `data: [DONE]`) is one write, as Ollama flushes it at once.
 *
 * A mid-stream failure is a frame `data: {"error":{"message",...,"type":"api_error"}}` and the
 * stream ends without `[DONE]` (status stays 200); the OpenAI SDKs turn that frame into an
 * APIError. A failure before any chunk is a 500 OpenAI-shaped error.
 *
 * Not streaming: one object with `usage`, `application/json` and a trailing newline.
 */
export function openAiGenerationReply(
  kind: OpenAiKind,
  setup: GenerationSetup,
  stream: boolean,
  identity: OpenAiIdentity,
): Reply {
  const { plan, behaviour } = setup;
  const failure = generationFailure(plan, behaviour);
  if (!stream) {
    const delayMs = generationTime(plan, behaviour);
    if (failure !== undefined) return openaiError(500, failure, { delayMs });
    return jsonReply(200, completeObject(kind, setup, identity), { encoder: true, delayMs });
  }
  if (failure !== undefined && behaviour.failMidStream?.afterChunks === 0) {
    return openaiError(500, failure, { delayMs: behaviour.firstTokenDelayMs });
  }
  const frames = new FrameWriter(kind, setup, identity);
  const parts = mapParts(generationSteps(plan, behaviour), (step) => frames.partFor(step));
  return streamReply(200, "text/event-stream", parts);
}

/**
 * The `/v1/completions` answer to an empty prompt, which Ollama's generate handler answers with a
 * `done_reason:"load"` object: one chunk with `finish_reason:"load"` (streaming) or a completion
 * with empty text and zero usage.
 */
export function completionLoadReply(
  stream: boolean,
  identity: OpenAiIdentity,
  model: string,
): Reply {
  const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  const choice = { text: "", index: 0, finish_reason: "load" };
  if (!stream) {
    return jsonReply(200, {
      id: identity.id,
      object: "text_completion",
      created: identity.created,
      model,
      system_fingerprint: FINGERPRINT,
      choices: [choice],
      usage,
    }, { encoder: true });
  }
  const chunk = (choices: unknown[], chunkUsage?: unknown) => ({
    id: identity.id,
    object: "text_completion",
    created: identity.created,
    choices,
    model,
    system_fingerprint: FINGERPRINT,
    ...(chunkUsage === undefined ? {} : { usage: chunkUsage }),
  });
  let text = sseFrame(chunk([choice], identity.includeUsage ? usage : undefined));
  if (identity.includeUsage) text += sseFrame(chunk([], usage));
  return streamReply(200, "text/event-stream", [textPart(`${text}data: [DONE]\n\n`)]);
}

/** Turns generation steps into SSE frames, remembering whether the role was sent. */
class FrameWriter {
  #kind: OpenAiKind;
  #setup: GenerationSetup;
  #identity: OpenAiIdentity;
  #roleSent = false;

  constructor(kind: OpenAiKind, setup: GenerationSetup, identity: OpenAiIdentity) {
    this.#kind = kind;
    this.#setup = setup;
    this.#identity = identity;
  }

  partFor(step: GenerationStep) {
    if (step.kind === "error") {
      return textPart(sseFrame(openaiErrorBody(500, step.message)), step.delayMs);
    }
    if (step.kind === "token") return textPart(sseFrame(this.#chunk(step.text)), step.delayMs);
    const { plan } = this.#setup;
    let text = "";
    if (this.#kind === "chat") {
      if (step.text !== "") text += sseFrame(this.#chunk(step.text));
      text += sseFrame(this.#chunk(undefined, plan.doneReason));
    } else {
      text += sseFrame(this.#chunk(step.text, plan.doneReason));
    }
    if (this.#identity.includeUsage) text += sseFrame(this.#usageChunk());
    return textPart(`${text}data: [DONE]\n\n`, step.delayMs);
  }

  #chunk(text: string | undefined, finishReason: string | null = null): unknown {
    const { id, created, includeUsage } = this.#identity;
    const model = this.#setup.plan.model;
    if (this.#kind === "completion") {
      return {
        id,
        object: "text_completion",
        created,
        choices: [{ text: text ?? "", index: 0, finish_reason: finishReason }],
        model,
        system_fingerprint: FINGERPRINT,
        ...(includeUsage
          ? { usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } }
          : {}),
      };
    }
    const delta: Record<string, string> = {};
    if (!this.#roleSent) delta["role"] = "assistant";
    if (text !== undefined) delta["content"] = text;
    this.#roleSent = true;
    return {
      id,
      object: "chat.completion.chunk",
      created,
      model,
      system_fingerprint: FINGERPRINT,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    };
  }

  #usageChunk(): unknown {
    const { id, created } = this.#identity;
    const model = this.#setup.plan.model;
    const usage = this.#setup.plan.usage;
    return this.#kind === "chat"
      ? {
        id,
        object: "chat.completion.chunk",
        created,
        model,
        system_fingerprint: FINGERPRINT,
        choices: [],
        usage,
      }
      : {
        id,
        object: "text_completion",
        created,
        choices: [],
        model,
        system_fingerprint: FINGERPRINT,
        usage,
      };
  }
}

function completeObject(
  kind: OpenAiKind,
  setup: GenerationSetup,
  identity: OpenAiIdentity,
): unknown {
  const { plan } = setup;
  const choice = kind === "chat"
    ? {
      index: 0,
      message: { role: "assistant", content: plan.text },
      finish_reason: plan.doneReason,
    }
    : { text: plan.text, index: 0, finish_reason: plan.doneReason };
  return {
    id: identity.id,
    object: kind === "chat" ? "chat.completion" : "text_completion",
    created: identity.created,
    model: plan.model,
    system_fingerprint: FINGERPRINT,
    choices: [choice],
    usage: plan.usage,
  };
}

/** Identity of the `sequence`-th request: ids cycle like Ollama's `rand.Intn(999)`. */
export function openAiIdentity(
  kind: OpenAiKind,
  context: RouteContext,
  includeUsage: boolean,
): OpenAiIdentity {
  return {
    id: `${kind === "chat" ? "chatcmpl" : "cmpl"}-${context.sequence % 999}`,
    created: Math.floor(context.receivedAt / 1000),
    includeUsage,
  };
}
