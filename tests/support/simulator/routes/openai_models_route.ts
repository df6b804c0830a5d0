/**
 * GET /v1/models.
 *
 * @module
 */

import { jsonReply } from "../json_reply.ts";
import { modelNamespace } from "../model_namespace.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/**
 * `{"object":"list","data":[{"id","object":"model","created","owned_by"}]}` plus a newline
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
