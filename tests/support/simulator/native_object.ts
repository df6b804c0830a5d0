/**
 * Response objects of /api/generate and /api/chat in Go field order.
 *
 * @module
 */

import type { CompletionMetrics } from "./expected_completion.ts";

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
 * One native response object: `model, created_at, response|message, done`, then on the final one
 * `done_reason`, `context` and the non-zero metrics (`total_duration, load_duration,
 * prompt_eval_count, prompt_eval_duration, eval_count, eval_duration`).
 */
export function nativeObject(kind: NativeKind, fields: NativeFields): Record<string, unknown> {
  const object: Record<string, unknown> = { model: fields.model, created_at: fields.createdAt };
  if (kind === "generate") object["response"] = fields.text;
  else object["message"] = { role: "assistant", content: fields.text };
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
