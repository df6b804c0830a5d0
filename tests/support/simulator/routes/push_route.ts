/**
 * POST /api/push.
 *
 * @module
 */

import { modelLayers } from "../model_layers.ts";
import { ollamaError } from "../ollama_error.ts";
import { type Progress, progressReply } from "../progress_reply.ts";
import type { Reply } from "../reply.ts";
import { decodeOllamaRequest } from "../decode_ollama_request.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

/** `retrieving manifest`, per-layer `pushing <12 hex>` progress, `pushing manifest`, `success`. */
export function pushRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeOllamaRequest(request.text, {
    structName: "api.PushRequest",
    fields: { model: "string", name: "string", stream: "boolean", insecure: "boolean" },
  });
  if (decoded.error) return decoded.error;
  const name = stringField(decoded.body, "model") || stringField(decoded.body, "name");
  if (name.trim() === "") return ollamaError(400, "model is required");
  if (context.catalog.find(name) === undefined) {
    return ollamaError(404, `model '${name}' not found`);
  }
  const steps: Progress[] = [{ status: "retrieving manifest" }];
  for (const { digest, size } of modelLayers(name)) {
    const status = `pushing ${digest.slice(7, 19)}`;
    steps.push({ status, digest, total: size });
    steps.push({ status, digest, total: size, completed: size });
  }
  steps.push({ status: "pushing manifest" }, { status: "success" });
  return progressReply({
    stream: decoded.body["stream"] !== false,
    steps,
    onSuccess: () => {},
  }, context);
}
