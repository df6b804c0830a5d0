/**
 * Non-streaming answers of the OpenAI-compatible endpoints, in Ollama's Go field order.
 *
 * @module
 */

import { FINGERPRINT, openAiToolCalls, type OpenAiUsage } from "./openai_chunks.ts";
import type { OpenAiIdentity } from "./openai_identity.ts";
import type { PlannedToolCall } from "./planned_tool_call.ts";

/**
 * A non-streaming answer: `id, object, created, model, system_fingerprint, choices, usage`, the
 * choice being `{index, message:{role, content[, reasoning][, tool_calls]}, finish_reason}`
 * (chat) or `{text, index, finish_reason}` (completions).
 */
export function openAiCompletion(
  identity: OpenAiIdentity,
  content: {
    readonly model: string;
    readonly text: string;
    readonly finishReason: string;
    readonly usage: OpenAiUsage;
    readonly reasoning?: string;
    readonly toolCalls?: readonly PlannedToolCall[];
  },
): unknown {
  const chat = identity.kind === "chat";
  const message: Record<string, unknown> = { role: "assistant", content: content.text };
  if ((content.reasoning ?? "") !== "") message["reasoning"] = content.reasoning;
  const calls = content.toolCalls ?? [];
  if (calls.length > 0) message["tool_calls"] = openAiToolCalls(calls);
  return {
    id: identity.id,
    object: chat ? "chat.completion" : "text_completion",
    created: identity.created,
    model: content.model,
    system_fingerprint: FINGERPRINT,
    choices: [
      chat
        ? { index: 0, message, finish_reason: content.finishReason }
        : { text: content.text, index: 0, finish_reason: content.finishReason },
    ],
    usage: content.usage,
  };
}
