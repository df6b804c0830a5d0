/**
 * GET /v1/models/:model.
 *
 * @module
 */

import { jsonReply } from "../json_reply.ts";
import { modelNamespace } from "../model_namespace.ts";
import { openaiError } from "../openai_error.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/** The model with `id` as requested, or 404 `not_found_error` `model 'x' not found`. */
export function openAiModelRoute(request: RouteRequest, context: RouteContext): Reply {
  const name = request.params["model"] ?? "";
  const record = context.catalog.find(name);
  if (record === undefined) return openaiError(404, `model '${name}' not found`);
  return jsonReply(200, {
    id: name,
    object: "model",
    created: Math.floor(record.modifiedAt / 1000),
    owned_by: modelNamespace(name),
  }, { encoder: true });
}
