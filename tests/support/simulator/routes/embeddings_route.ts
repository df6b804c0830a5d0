/**
 * POST /api/embeddings (legacy).
 *
 * @module
 */

import { admitEmbedding } from "../admit_embedding.ts";
import { embedSettings } from "../embed_settings.ts";
import { embeddingReply } from "../embedding_body.ts";
import { expectedEmbedding } from "../expected_embedding.ts";
import { jsonReply } from "../json_reply.ts";
import { numCtxOf } from "../num_ctx.ts";
import { ollamaError } from "../ollama_error.ts";
import type { Reply } from "../reply.ts";
import { decodeOllamaRequest } from "../decode_ollama_request.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

/**
 * `{"embedding":[...]}` for `prompt` (`[]` for an empty one), no metrics, after the scheduler
 * (503 when its queue is full).
 */
export async function embeddingsRoute(
  request: RouteRequest,
  context: RouteContext,
): Promise<Reply> {
  const decoded = decodeOllamaRequest(request.text, {
    structName: "api.EmbeddingRequest",
    fields: { model: "string", prompt: "string", options: "object" },
  });
  if (decoded.error) return decoded.error;
  const body = decoded.body;
  const model = stringField(body, "model");
  const record = context.catalog.find(model);
  if (record === undefined) return ollamaError(404, `model '${model}' not found`);
  const prompt = stringField(body, "prompt");
  const numCtx = numCtxOf(body["options"]);
  const admitted = await admitEmbedding(record, context, {
    keepAlive: body["keep_alive"],
    slot: prompt !== "",
    ...(numCtx === undefined ? {} : { numCtx }),
  });
  if (!admitted.ok) return ollamaError(admitted.status, admitted.message);
  if (prompt === "") return jsonReply(200, { embedding: [] });
  const settings = embedSettings(body, context);
  const expected = expectedEmbedding(model, prompt, settings.expected);
  return embeddingReply([prompt], {
    head: `{"embedding":`,
    open: () => "",
    close: () => "",
    tail: "}",
  }, {
    contentType: "application/json; charset=utf-8",
    dimensions: expected.dimensions,
    delayMs: settings.delayMs,
  });
}
