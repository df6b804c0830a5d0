/**
 * POST /api/generate.
 *
 * @module
 */

import { setupGeneration } from "../generation_setup.ts";
import { nativeGenerationReply } from "../native_generation_reply.ts";
import { nativeLoadReply } from "../native_load_reply.ts";
import { numPredictOf } from "../num_predict.ts";
import { ollamaError } from "../ollama_error.ts";
import type { Reply } from "../reply.ts";
import { decodeOllamaRequest } from "../decode_ollama_request.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

const FIELDS = {
  model: "string",
  prompt: "string",
  suffix: "string",
  system: "string",
  template: "string",
  stream: "boolean",
  raw: "boolean",
  options: "object",
  context: "array",
  images: "array",
} as const;

/**
 * Generation in Ollama's native format; `stream` absent means true; `options.num_predict` limits
 * the answer. An empty prompt (and no system or template) loads the model and answers one
 * `done_reason:"load"` object (`"unload"` with `keep_alive: 0`), even when streaming was asked.
 */
export function generateRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeOllamaRequest(request.text, {
    structName: "api.GenerateRequest",
    fields: FIELDS,
  });
  if (decoded.error) return decoded.error;
  const body = decoded.body;
  const model = stringField(body, "model");
  // Ollama answers an invalid name like an unknown one here.
  if (model.trim() === "") return ollamaError(404, `model '${model}' not found`);
  const prompt = stringField(body, "prompt");
  const system = stringField(body, "system");
  const numPredict = numPredictOf(body["options"]);
  const result = setupGeneration({
    model,
    input: prompt,
    verb: "generate",
    ...(system === "" ? {} : { system }),
    ...(numPredict === undefined ? {} : { numPredict }),
  }, context);
  if (!result.ok) return ollamaError(result.status, result.message);
  const keepAlive = body["keep_alive"];
  context.loaded.touch(result.setup.record, { keepAlive, now: context.receivedAt });
  if (prompt === "" && system === "" && stringField(body, "template") === "") {
    return nativeLoadReply("generate", context, { model, keepAlive });
  }
  return nativeGenerationReply(result.setup, context, {
    kind: "generate",
    stream: body["stream"] !== false,
  });
}
