/**
 * POST /api/pull.
 *
 * @module
 */

import { canonicalModelName } from "../canonical_model_name.ts";
import { modelLayers } from "../model_layers.ts";
import { ollamaError } from "../ollama_error.ts";
import { type Progress, progressReply } from "../progress_reply.ts";
import type { Reply } from "../reply.ts";
import { decodeOllamaRequest } from "../decode_ollama_request.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

/**
 * `pulling manifest`, then for each of three layers `pulling <12 hex>` with `digest`, `total` and
 * `completed` at 0 (omitted), half and all, then `verifying sha256 digest`, `writing manifest`,
 * `success`, one line every `pullIntervalMs`; the model is installed when `success` is written.
 * `stream:false` answers only `{"status":"success"}` (`application/json`, as Ollama's
 * `waitForStream` sets it). A name the `registry` option does not allow (an entry without a tag
 * allows every tag) fails after the manifest line with `pull model manifest: file does not
 * exist`: streamed, status 200 and an `{"error"}` line; with `stream:false`, a 500.
 */
export function pullRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeOllamaRequest(request.text, {
    structName: "api.PullRequest",
    fields: { model: "string", name: "string", stream: "boolean", insecure: "boolean" },
  });
  if (decoded.error) return decoded.error;
  const name = stringField(decoded.body, "model") || stringField(decoded.body, "name");
  if (name.trim() === "") return ollamaError(400, "model is required");
  const registry = context.options.registry;
  const wanted = canonicalModelName(name).toLowerCase();
  const known = registry === "any" || registry.some((entry) => {
    const tagged = entry.slice(entry.lastIndexOf("/") + 1).includes(":");
    const allowed = canonicalModelName(entry).toLowerCase();
    return tagged ? allowed === wanted : wanted.startsWith(allowed.slice(0, -"latest".length));
  });
  const steps: Progress[] = [{ status: "pulling manifest" }];
  if (known) {
    for (const { digest, size } of modelLayers(name)) {
      const status = `pulling ${digest.slice(7, 19)}`;
      steps.push({ status, digest, total: size });
      steps.push({ status, digest, total: size, completed: Math.floor(size / 2) });
      steps.push({ status, digest, total: size, completed: size });
    }
    steps.push({ status: "verifying sha256 digest" }, { status: "writing manifest" });
    steps.push({ status: "success" });
  }
  return progressReply({
    stream: decoded.body["stream"] !== false,
    steps,
    ...(known ? {} : { error: "pull model manifest: file does not exist" }),
    onSuccess: () => context.catalog.add(name, { modifiedAt: context.clock() }),
  }, context);
}
