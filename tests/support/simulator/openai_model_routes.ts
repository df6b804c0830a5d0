/**
 * GET /v1/models and GET /v1/models/:model.
 *
 * @module
 */

import { modelNamespace } from "./model_name.ts";
import { jsonReply, openaiError, type Reply } from "./reply.ts";
import type { RouteContext, RouteRequest } from "./route_types.ts";

/**
 * GET /v1/models: `{"object":"list","data":[{"id","object":"model","created","owned_by"}]}`
 * (`data` is `null` when no model is installed, as Go marshals a nil slice).
 */
export function openAiModelsRoute(_request: RouteRequest, context: RouteContext): Reply {
  const models = context.catalog.list();
  const data = models.length === 0 ? null : models.map((record) => ({
    id: record.name,
    object: "model",
    created: Math.floor(record.modifiedAt / 1000),
    owned_by: modelNamespace(record.name),
  }));
  return jsonReply(200, { object: "list", data }, { encoder: true });
}

/** GET /v1/models/:model: the model with `id` as requested, or a 404 `not_found_error`. */
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
