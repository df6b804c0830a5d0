/**
 * POST /v1/completions.
 *
 * @module
 */

import { completionLoadReply } from "../completion_load_reply.ts";
import { setupGeneration } from "../generation_setup.ts";
import { openaiError } from "../openai_error.ts";
import { openAiGenerationReply } from "../openai_generation_reply.ts";
import { openAiIdentity } from "../openai_identity.ts";
import { openAiRequestSettings } from "../openai_request_settings.ts";
import type { Reply } from "../reply.ts";
import { decodeRequestJson } from "../request_json.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

const FIELDS = {
  model: "string",
  prompt: "string",
  stream: "boolean",
  stream_options: "object",
  max_tokens: "number",
  suffix: "string",
} as const;

/**
 * OpenAI-compatible completion: `stream` defaults to false; `max_tokens` becomes `num_predict`;
 * an empty prompt answers like Ollama's load response (`finish_reason:"load"`).
 */
export function completionsRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, {
    structName: "openai.CompletionRequest",
    fields: FIELDS,
  });
  if (!decoded.ok) return openaiError(400, decoded.message, { stage: "middleware" });
  const body = decoded.value;
  const model = stringField(body, "model");
  if (model.trim() === "") return openaiError(404, `model '${model}' not found`);
  const prompt = stringField(body, "prompt");
  const settings = openAiRequestSettings(body);
  const result = setupGeneration({
    model,
    input: prompt,
    verb: "generate",
    ...(settings.numPredict === undefined ? {} : { numPredict: settings.numPredict }),
  }, context);
  if (!result.ok) return openaiError(result.status, result.message);
  context.loaded.touch(result.setup.record, { keepAlive: undefined, now: context.receivedAt });
  const identity = openAiIdentity("completion", context, { includeUsage: settings.includeUsage });
  if (prompt === "" && stringField(body, "suffix") === "") {
    return completionLoadReply(identity, { model, stream: settings.stream });
  }
  return openAiGenerationReply(result.setup, identity, { stream: settings.stream });
}
