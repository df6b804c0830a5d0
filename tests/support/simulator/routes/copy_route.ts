/**
 * POST /api/copy.
 *
 * @module
 */

import { emptyReply } from "../empty_reply.ts";
import { ollamaError } from "../ollama_error.ts";
import type { Reply } from "../reply.ts";
import { decodeOllamaRequest } from "../decode_ollama_request.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

/** Installs `destination` as a copy of `source`: 200 empty, or 404 `model "x" not found`. */
export function copyRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeOllamaRequest(request.text, {
    structName: "api.CopyRequest",
    fields: { source: "string", destination: "string" },
  });
  if (decoded.error) return decoded.error;
  const source = stringField(decoded.body, "source");
  const destination = stringField(decoded.body, "destination");
  if (source.trim() === "" || destination.trim() === "") {
    return ollamaError(400, "source and destination are required");
  }
  const record = context.catalog.find(source);
  if (record === undefined) return ollamaError(404, `model ${JSON.stringify(source)} not found`);
  context.catalog.add(destination, { modifiedAt: context.receivedAt, from: record });
  return emptyReply(200);
}
