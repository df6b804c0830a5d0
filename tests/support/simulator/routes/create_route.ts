/**
 * POST /api/create.
 *
 * @module
 */

import { modelLayers } from "../model_layers.ts";
import { ollamaError } from "../ollama_error.ts";
import { progressReply } from "../progress_reply.ts";
import type { Reply } from "../reply.ts";
import { decodeOllamaRequest } from "../decode_ollama_request.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

/**
 * `using existing layer sha256:...` per layer, `writing manifest`, `success`; installs the model
 * (a copy of `from` when given). 404 when `from` is not installed.
 */
export function createRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeOllamaRequest(request.text, {
    structName: "api.CreateRequest",
    fields: { model: "string", name: "string", stream: "boolean", from: "string", files: "object" },
  });
  if (decoded.error) return decoded.error;
  const body = decoded.body;
  const name = stringField(body, "model") || stringField(body, "name");
  if (name.trim() === "") return ollamaError(400, "model is required");
  const from = stringField(body, "from");
  if (from === "" && body["files"] === undefined) {
    return ollamaError(400, "neither 'from' or 'files' was specified");
  }
  const source = from === "" ? undefined : context.catalog.find(from);
  if (from !== "" && source === undefined) return ollamaError(404, `model '${from}' not found`);
  return progressReply({
    stream: body["stream"] !== false,
    steps: [
      ...modelLayers(from || name).map(({ digest }) => ({
        status: `using existing layer ${digest}`,
      })),
      { status: "writing manifest" },
      { status: "success" },
    ],
    onSuccess: () => context.catalog.add(name, { modifiedAt: context.clock(), from: source }),
  }, context);
}
