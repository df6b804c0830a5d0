/**
 * /api/generate and /api/chat answers in Ollama's native wire format: NDJSON chunks when
 * streaming, one JSON object otherwise.
 *
 * @module
 */

import type { CompletionMetrics, ExpectedCompletion } from "./expected_completion.ts";
import type { GenerationSetup } from "./generation_setup.ts";
import { generationFailure, generationSteps, generationTime } from "./generation_steps.ts";
import { goJson } from "./go_json.ts";
import { goTime } from "./go_time.ts";
import { mapParts } from "./map_parts.ts";
import { jsonReply, ollamaError, type Reply, streamReply, textPart } from "./reply.ts";
import type { RouteContext } from "./route_types.ts";

/** Which native endpoint is answering. */
export type NativeKind = "generate" | "chat";

/** Final-chunk fields after `done`, in Go order. */
interface DoneFields {
  readonly reason: string;
  readonly context?: readonly number[];
  readonly metrics?: CompletionMetrics;
}

/**
 * One native response object in Go field order: `model, created_at, response|message, done`,
 * then for the final one `done_reason`, `context` (generate only) and the non-zero metrics.
 */
export function nativeObject(
  kind: NativeKind,
  model: string,
  createdAt: string,
  text: string,
  done?: DoneFields,
): Record<string, unknown> {
  const object: Record<string, unknown> = { model, created_at: createdAt };
  if (kind === "generate") object["response"] = text;
  else object["message"] = { role: "assistant", content: text };
  object["done"] = done !== undefined;
  if (done === undefined) return object;
  if (done.reason !== "") object["done_reason"] = done.reason;
  if (done.context !== undefined && done.context.length > 0) object["context"] = done.context;
  for (const [key, value] of Object.entries(done.metrics ?? {})) {
    if (value !== 0) object[key] = value;
  }
  return object;
}

/**
 * The token ids /api/generate returns as `context` (the tokenized prompt and answer):
 * `prompt_eval_count + eval_count` deterministic ids.
 */
export function generateContext(plan: ExpectedCompletion): number[] {
  const length = plan.metrics.prompt_eval_count + plan.metrics.eval_count;
  return Array.from({ length }, (_, i) => 128000 + ((i * 7919) % 4096));
}

/**
 * The answer to a planned native generation. Streaming: `application/x-ndjson`, one line per
 * step, headers with the first line; a failure after N chunks is a `{"error":"..."}` line with
 * status 200, a failure before any chunk a 500. Not streaming: after the whole generation time,
 * one `application/json; charset=utf-8` object (or a 500 error).
 */
export function nativeGenerationReply(
  kind: NativeKind,
  setup: GenerationSetup,
  stream: boolean,
  context: RouteContext,
): Reply {
  const { plan, behaviour } = setup;
  const done = (): DoneFields => ({
    reason: plan.doneReason,
    ...(kind === "generate" ? { context: generateContext(plan) } : {}),
    metrics: plan.metrics,
  });
  const failure = generationFailure(plan, behaviour);
  if (!stream) {
    const delayMs = generationTime(plan, behaviour);
    if (failure !== undefined) return ollamaError(500, failure, delayMs);
    const object = nativeObject(kind, plan.model, goTime(context.clock()), plan.text, done());
    return jsonReply(200, object, { delayMs });
  }
  if (failure !== undefined && behaviour.failMidStream?.afterChunks === 0) {
    return ollamaError(500, failure, behaviour.firstTokenDelayMs);
  }
  const parts = mapParts(generationSteps(plan, behaviour), (step) => {
    if (step.kind === "error") {
      return textPart(`${goJson({ error: step.message })}\n`, step.delayMs);
    }
    const createdAt = goTime(context.clock());
    const object = step.kind === "token"
      ? nativeObject(kind, plan.model, createdAt, step.text)
      : nativeObject(kind, plan.model, createdAt, step.text, done());
    return textPart(`${goJson(object)}\n`, step.delayMs);
  });
  return streamReply(200, "application/x-ndjson", parts);
}
