/**
 * Chunk objects of the OpenAI-compatible streams, in Ollama's Go field order.
 *
 * @module
 */

import type { OpenAiIdentity } from "./openai_identity.ts";
import type { PlannedToolCall } from "./planned_tool_call.ts";

/** `system_fingerprint` of every OpenAI-compatible answer. */
export const FINGERPRINT = "fp_ollama";

/** Usage numbers as the OpenAI-compatible endpoints report them. */
export interface OpenAiUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** All-zero usage, which /v1/completions puts on every chunk when `include_usage` is set. */
export const ZERO_USAGE: OpenAiUsage = Object.freeze({
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
});

/** What one chunk says. */
export interface ChunkContent {
  /** `model` (the request's name; "" on the chunk a mid-stream error line becomes). */
  readonly model: string;
  /** `created`; default the identity's. */
  readonly created?: number;
  /** Chat: the `delta` object. Ignored for completions. */
  readonly delta?: Readonly<Record<string, unknown>>;
  /** Completions: the `text`. Ignored for chat. */
  readonly text?: string;
  readonly finishReason?: string | null;
  /** The usage-only chunk: `choices:[]` and this usage. */
  readonly usage?: OpenAiUsage;
}

/**
 * One chunk object. Chat: `id, object:"chat.completion.chunk", created, model,
 * system_fingerprint, choices[{index, delta, finish_reason}]`, `usage` only on the usage chunk.
 * Completions: `id, object:"text_completion", created, choices[{text, index, finish_reason}],
 * model, system_fingerprint`, plus zero `usage` on every chunk when `include_usage` is set.
 */
export function openAiChunk(identity: OpenAiIdentity, content: ChunkContent): unknown {
  const { id } = identity;
  const created = content.created ?? identity.created;
  const finish_reason = content.finishReason ?? null;
  if (identity.kind === "chat") {
    return {
      id,
      object: "chat.completion.chunk",
      created,
      model: content.model,
      system_fingerprint: FINGERPRINT,
      choices: content.usage === undefined
        ? [{ index: 0, delta: content.delta ?? {}, finish_reason }]
        : [],
      ...(content.usage === undefined ? {} : { usage: content.usage }),
    };
  }
  const usage = content.usage ?? (identity.includeUsage ? ZERO_USAGE : undefined);
  return {
    id,
    object: "text_completion",
    created,
    choices: content.usage === undefined
      ? [{ text: content.text ?? "", index: 0, finish_reason }]
      : [],
    model: content.model,
    system_fingerprint: FINGERPRINT,
    ...(usage === undefined ? {} : { usage }),
  };
}

/**
 * Tool calls as the OpenAI layer writes them: `{id, index, type:"function", function:{name,
 * arguments}}`, the arguments as compact JSON text.
 */
export function openAiToolCalls(calls: readonly PlannedToolCall[]): unknown[] {
  return calls.map((call) => ({
    id: call.id,
    index: call.index,
    type: "function",
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }));
}
