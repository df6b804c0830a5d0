/**
 * Response objects of /api/generate and /api/chat in Go field order.
 *
 * @module
 */

import type { CompletionMetrics } from "./expected_completion.ts";
import type { PlannedToolCall } from "./planned_tool_call.ts";

/** Which native endpoint is answering. */
export type NativeKind = "generate" | "chat";

/** The fields of one native response object. */
export interface NativeFields {
  /** The model name as the request gave it. */
  readonly model: string;
  /** `created_at`, already formatted. */
  readonly createdAt: string;
  /** `response` (generate) or `message.content` (chat). */
  readonly text: string;
  /** `thinking` (generate) or `message.thinking` (chat); omitted when "". */
  readonly thinking?: string;
  /** `message.tool_calls` (chat); omitted when empty. */
  readonly toolCalls?: readonly PlannedToolCall[];
  /** Present on the final object only. */
  readonly done?: {
    /** `done_reason`; omitted when "". */
    readonly reason: string;
    /** `context` token ids (generate only); omitted when empty. */
    readonly context?: readonly number[];
    /** Omitted field by field when zero. */
    readonly metrics?: CompletionMetrics;
  };
}

/**
 * One native response object: `model, created_at, response[, thinking]|message{role, content[,
 * thinking][, tool_calls]}, done`, then on the final one `done_reason`, `context` and the
 * non-zero metrics (`total_duration, load_duration, prompt_eval_count, prompt_eval_duration,
 * eval_count, eval_duration`). A tool call is `{id, function:{index, name, arguments}}` with the
 * arguments as an object.
 */
export function nativeObject(kind: NativeKind, fields: NativeFields): Record<string, unknown> {
  const object: Record<string, unknown> = { model: fields.model, created_at: fields.createdAt };
  const thinking = fields.thinking ?? "";
  if (kind === "generate") {
    object["response"] = fields.text;
    if (thinking !== "") object["thinking"] = thinking;
  } else {
    const message: Record<string, unknown> = { role: "assistant", content: fields.text };
    if (thinking !== "") message["thinking"] = thinking;
    const calls = fields.toolCalls ?? [];
    if (calls.length > 0) {
      message["tool_calls"] = calls.map((call) => ({
        id: call.id,
        function: { index: call.index, name: call.name, arguments: call.arguments },
      }));
    }
    object["message"] = message;
  }
  const done = fields.done;
  object["done"] = done !== undefined;
  if (done === undefined) return object;
  if (done.reason !== "") object["done_reason"] = done.reason;
  if (done.context !== undefined && done.context.length > 0) object["context"] = done.context;
  for (const [key, value] of Object.entries(done.metrics ?? {})) {
    if (value !== 0) object[key] = value;
  }
  return object;
}
