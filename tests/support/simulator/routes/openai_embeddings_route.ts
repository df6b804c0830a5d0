/**
 * POST /v1/embeddings.
 *
 * @module
 */

import { admitEmbedding } from "../admit_embedding.ts";
import { embedInputs } from "../embed_inputs.ts";
import { embedSettings } from "../embed_settings.ts";
import { embeddingReply } from "../embedding_body.ts";
import { expectedEmbedding } from "../expected_embedding.ts";
import { goJson } from "../go_json.ts";
import { openaiError } from "../openai_error.ts";
import type { Reply } from "../reply.ts";
import { decodeRequestJson } from "../request_json.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

/**
 * `{"object":"list","data":[{"object":"embedding","embedding":[...],"index":N}],"model",
 * "usage":{"prompt_tokens","total_tokens"}}` plus a newline, `application/json`;
 * `encoding_format: "base64"` (the OpenAI SDK's default) gives little-endian float32 strings.
 * The request goes through the scheduler first (503 in OpenAI's shape when its queue is full).
 */
export async function openAiEmbeddingsRoute(
  request: RouteRequest,
  context: RouteContext,
): Promise<Reply> {
  const decoded = decodeRequestJson(request.text, {
    structName: "openai.EmbedRequest",
    fields: { model: "string", dimensions: "number", encoding_format: "string" },
  });
  if (!decoded.ok) return openaiError(400, decoded.message, { stage: "middleware" });
  const body = decoded.value;
  const format = stringField(body, "encoding_format").toLowerCase();
  if (format !== "" && format !== "float" && format !== "base64") {
    return openaiError(
      400,
      `Invalid value for 'encoding_format' = ${stringField(body, "encoding_format")}. ` +
        `Supported values: ['float', 'base64'].`,
      { stage: "middleware" },
    );
  }
  const raw = body["input"];
  const inputs = raw === "" ? [""] : embedInputs(raw);
  if (raw === undefined || raw === null || inputs === undefined || inputs.length === 0) {
    return openaiError(400, "invalid input", { stage: "middleware" });
  }
  const model = stringField(body, "model");
  const record = context.catalog.find(model);
  if (record === undefined) return openaiError(404, `model '${model}' not found`);
  const admitted = await admitEmbedding(record, context, { keepAlive: undefined, slot: true });
  if (!admitted.ok) return openaiError(admitted.status, admitted.message);
  const settings = embedSettings(body, context);
  const expected = expectedEmbedding(model, inputs, settings.expected);
  return embeddingReply(inputs, {
    head: `{"object":"list","data":[`,
    open: () => `{"object":"embedding","embedding":`,
    close: (i) => `,"index":${i}}`,
    tail: `],"model":${goJson(model)},"usage":${goJson(expected.usage)}}\n`,
    encoding: format === "base64" ? "base64" : "float",
  }, {
    contentType: "application/json",
    dimensions: expected.dimensions,
    delayMs: settings.delayMs,
  });
}
