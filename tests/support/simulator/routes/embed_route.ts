/**
 * POST /api/embed.
 *
 * @module
 */

import { admitEmbedding } from "../admit_embedding.ts";
import { embedInputs } from "../embed_inputs.ts";
import { embedSettings } from "../embed_settings.ts";
import { embeddingReply } from "../embedding_body.ts";
import { expectedEmbedding } from "../expected_embedding.ts";
import { goJson } from "../go_json.ts";
import { numCtxOf } from "../num_ctx.ts";
import { ollamaError } from "../ollama_error.ts";
import type { Reply } from "../reply.ts";
import { decodeOllamaRequest } from "../decode_ollama_request.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

/**
 * `{"model","embeddings":[[...]],"total_duration","load_duration","prompt_eval_count"}`, metrics
 * last and omitted when zero (an empty input gives `{"model","embeddings":[]}`). `input` is a
 * string or a list of strings; `dimensions` truncates. Large bodies are streamed chunked. The
 * request goes through the scheduler first (its waits count in `total_duration`, the scheduler's
 * in `load_duration` too; 503 when the queue is full).
 */
export async function embedRoute(request: RouteRequest, context: RouteContext): Promise<Reply> {
  const decoded = decodeOllamaRequest(request.text, {
    structName: "api.EmbedRequest",
    fields: { model: "string", dimensions: "number", options: "object", truncate: "boolean" },
  });
  if (decoded.error) return decoded.error;
  const body = decoded.body;
  const inputs = embedInputs(body["input"]);
  if (inputs === undefined) return ollamaError(400, "invalid input type");
  const model = stringField(body, "model");
  const record = context.catalog.find(model);
  if (record === undefined) return ollamaError(404, `model '${model}' not found`);
  const numCtx = numCtxOf(body["options"]);
  const admitted = await admitEmbedding(record, context, {
    keepAlive: body["keep_alive"],
    slot: inputs.length > 0,
    ...(numCtx === undefined ? {} : { numCtx }),
  });
  if (!admitted.ok) return ollamaError(admitted.status, admitted.message);
  const settings = embedSettings(body, context);
  const expected = expectedEmbedding(model, inputs, settings.expected);
  const waited = inputs.length === 0 ? expected.metrics : {
    ...expected.metrics,
    total_duration: expected.metrics.total_duration + admitted.loadWaitNs + admitted.slotWaitNs,
    load_duration: expected.metrics.load_duration + admitted.loadWaitNs,
  };
  const metrics = Object.entries(waited).filter(([, value]) => value !== 0);
  const tail = metrics.map(([key, value]) => `,${JSON.stringify(key)}:${value}`).join("");
  return embeddingReply(inputs, {
    head: `{"model":${goJson(model)},"embeddings":[`,
    open: () => "",
    close: () => "",
    tail: `]${tail}}`,
  }, {
    contentType: "application/json; charset=utf-8",
    dimensions: expected.dimensions,
    delayMs: settings.delayMs,
  });
}
