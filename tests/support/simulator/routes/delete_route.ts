/**
 * DELETE /api/delete.
 *
 * @module
 */

import { emptyReply } from "../empty_reply.ts";
import { ollamaError } from "../ollama_error.ts";
import type { Reply } from "../reply.ts";
import { decodeOllamaRequest } from "../decode_ollama_request.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

/** Uninstalls (and unloads) the model: 200 with an empty body, or 404 `model 'x' not found`. */
export function deleteRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeOllamaRequest(request.text, {
    structName: "api.DeleteRequest",
    fields: { model: "string", name: "string" },
  });
  if (decoded.error) return decoded.error;
  const name = stringField(decoded.body, "model") || stringField(decoded.body, "name");
  if (name.trim() === "") return ollamaError(400, "model is required");
  const record = context.catalog.find(name);
  if (record === undefined) return ollamaError(404, `model '${name}' not found`);
  context.catalog.remove(name);
  context.loaded.touch(record, { keepAlive: 0, now: context.receivedAt });
  return emptyReply(200);
}
