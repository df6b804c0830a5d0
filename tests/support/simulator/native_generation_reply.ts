/**
 * /api/generate and /api/chat answers in Ollama's native wire format: NDJSON chunks when
 * streaming, one JSON object otherwise.
 *
 * @module
 */

import type { ExpectedCompletion } from "./expected_completion.ts";
import { fixedReply } from "./fixed_reply.ts";
import type { GenerationSetup } from "./generation_setup.ts";
import { goJson } from "./go_json.ts";
import { goTime } from "./go_time.ts";
import { jsonReply } from "./json_reply.ts";
import { mapParts } from "./map_parts.ts";
import { type NativeFields, type NativeKind, nativeObject } from "./native_object.ts";
import { ollamaError } from "./ollama_error.ts";
import { type Reply, textPart } from "./reply.ts";
import type { RouteContext } from "./route_types.ts";
import { streamReply } from "./stream_reply.ts";

/**
 * The answer to a planned native generation. Streaming: `application/x-ndjson`, one line per
 * step (thinking in `thinking` with an empty `response` / `content`, a tool call whole in
 * `message.tool_calls`), headers with the first line; a failure after N chunks is a
 * `{"error":"..."}` line with status 200, a failure before any chunk a 500 `application/json`
 * (Ollama's stream writer sets that type before the error). Not streaming: after the whole
 * generation time, one `application/json; charset=utf-8` object (or a 500 error). The final
 * object of /api/generate carries `context` (not with `raw`): `prompt_eval_count + eval_count`
 * token ids.
 */
export function nativeGenerationReply(
  setup: GenerationSetup,
  context: RouteContext,
  options: { readonly kind: NativeKind; readonly stream: boolean; readonly raw?: boolean },
): Reply {
  const { kind, stream } = options;
  const { plan, timeline } = setup;
  const done = (): NonNullable<NativeFields["done"]> => ({
    reason: plan.doneReason,
    ...(kind === "generate" && options.raw !== true ? { context: contextTokens(plan) } : {}),
    metrics: plan.metrics,
  });
  const model = plan.model;
  if (!stream) {
    const delayMs = timeline.totalDelayMs;
    if (timeline.failure !== undefined) return ollamaError(500, timeline.failure, { delayMs });
    const createdAt = goTime(context.clock());
    const object = nativeObject(kind, {
      model,
      createdAt,
      text: plan.text,
      thinking: plan.thinking,
      toolCalls: plan.toolCalls,
      done: done(),
    });
    return jsonReply(200, object, { delayMs });
  }
  if (timeline.failsAtStart && timeline.failure !== undefined) {
    return fixedReply(500, goJson({ error: timeline.failure }), {
      contentType: "application/json",
      delayMs: timeline.totalDelayMs,
    });
  }
  const parts = mapParts(timeline.steps(), (step) => {
    if (step.kind === "error") {
      return textPart(`${goJson({ error: step.message })}\n`, step.delayMs);
    }
    const createdAt = goTime(context.clock());
    let object: Record<string, unknown>;
    if (step.kind === "done") {
      object = nativeObject(kind, { model, createdAt, text: step.text, done: done() });
    } else {
      const { piece } = step;
      object = nativeObject(kind, {
        model,
        createdAt,
        text: piece.kind === "content" ? piece.text : "",
        ...(piece.kind === "thinking" ? { thinking: piece.text } : {}),
        ...(piece.kind === "tool_calls" ? { toolCalls: piece.calls } : {}),
      });
    }
    return textPart(`${goJson(object)}\n`, step.delayMs);
  });
  return streamReply("application/x-ndjson", parts);
}

/** Deterministic stand-ins for the tokenized prompt and answer /api/generate returns. */
function contextTokens(plan: ExpectedCompletion): number[] {
  const length = plan.metrics.prompt_eval_count + plan.metrics.eval_count;
  return Array.from({ length }, (_, i) => 128000 + ((i * 7919) % 4096));
}
