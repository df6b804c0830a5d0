/**
 * Routes that stream NDJSON progress: POST /api/pull, POST /api/push, POST /api/create.
 *
 * @module
 */

import { goJson } from "./go_json.ts";
import { describeModel, hexDigest } from "./model_catalog.ts";
import { jsonReply, ollamaError, type Reply, streamReply, textPart } from "./reply.ts";
import { DEFAULT_FAILURE_MESSAGE } from "./simulator_options.ts";
import { decodeRequestJson, type JsonObject, stringField } from "./request_json.ts";
import type { RouteContext, RouteRequest } from "./route_types.ts";
import { stringHash } from "./string_hash.ts";

/** One progress object in Go field order (zero-valued fields omitted). */
interface Progress {
  readonly status: string;
  readonly digest?: string;
  readonly total?: number;
  readonly completed?: number;
}

const PROGRESS_FIELDS = {
  model: "string",
  name: "string",
  stream: "boolean",
  insecure: "boolean",
} as const;

/**
 * POST /api/pull: `pulling manifest`, then for each of three layers `pulling <12 hex>` with
 * `digest`, `total` and `completed` at 0 (omitted), half and all, then `verifying sha256 digest`,
 * `writing manifest`, `success`; one line every `pullIntervalMs`. The model is installed when
 * `success` is written. `stream:false` answers only `{"status":"success"}`. A name missing from
 * `registry` fails after the manifest line with `pull model manifest: file does not exist`.
 */
export function pullRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, "api.PullRequest", PROGRESS_FIELDS);
  if (!decoded.ok) {
    return ollamaError(400, decoded.empty ? "missing request body" : decoded.message);
  }
  const name = nameOf(decoded.value);
  if (name.trim() === "") return ollamaError(400, "model is required");
  const registry = context.options.registry;
  const known = registry === "any" ||
    registry.some((entry) => entry.toLowerCase() === name.toLowerCase()) ||
    registry.some((entry) => describeModel(entry, 0).name === describeModel(name, 0).name);
  const steps: Progress[] = [{ status: "pulling manifest" }];
  if (known) {
    for (const layer of layersOf(name)) {
      const status = `pulling ${layer.digest.slice(7, 19)}`;
      steps.push({ status, digest: layer.digest, total: layer.size });
      steps.push({ status, digest: layer.digest, total: layer.size, completed: layer.size >> 1 });
      steps.push({ status, digest: layer.digest, total: layer.size, completed: layer.size });
    }
    steps.push({ status: "verifying sha256 digest" }, { status: "writing manifest" });
    steps.push({ status: "success" });
  }
  const error = known ? undefined : "pull model manifest: file does not exist";
  return progressReply(decoded.value, steps, error, context, () => {
    context.catalog.add(name, context.clock());
  });
}

/** POST /api/push: `retrieving manifest`, per-layer `pushing <12 hex>` progress, `success`. */
export function pushRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, "api.PushRequest", PROGRESS_FIELDS);
  if (!decoded.ok) {
    return ollamaError(400, decoded.empty ? "missing request body" : decoded.message);
  }
  const name = nameOf(decoded.value);
  if (name.trim() === "") return ollamaError(400, "model is required");
  if (context.catalog.find(name) === undefined) {
    return ollamaError(404, `model '${name}' not found`);
  }
  const steps: Progress[] = [{ status: "retrieving manifest" }];
  for (const layer of layersOf(name)) {
    const status = `pushing ${layer.digest.slice(7, 19)}`;
    steps.push({ status, digest: layer.digest, total: layer.size });
    steps.push({ status, digest: layer.digest, total: layer.size, completed: layer.size });
  }
  steps.push({ status: "pushing manifest" }, { status: "success" });
  return progressReply(decoded.value, steps, undefined, context, () => {});
}

/** POST /api/create: `using existing layer ...`, `writing manifest`, `success`; installs it. */
export function createRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, "api.CreateRequest", {
    ...PROGRESS_FIELDS,
    from: "string",
    files: "object",
  });
  if (!decoded.ok) {
    return ollamaError(400, decoded.empty ? "missing request body" : decoded.message);
  }
  const name = nameOf(decoded.value);
  if (name.trim() === "") return ollamaError(400, "model is required");
  const from = stringField(decoded.value, "from");
  if (from === "" && decoded.value["files"] === undefined) {
    return ollamaError(400, "neither 'from' or 'files' was specified");
  }
  const source = from === "" ? undefined : context.catalog.find(from);
  if (from !== "" && source === undefined) return ollamaError(404, `model '${from}' not found`);
  const steps: Progress[] = [
    ...layersOf(from || name).map((layer) => ({ status: `using existing layer ${layer.digest}` })),
    { status: "writing manifest" },
    { status: "success" },
  ];
  return progressReply(decoded.value, steps, undefined, context, () => {
    context.catalog.add(name, context.clock(), source);
  });
}

function progressReply(
  body: JsonObject,
  steps: readonly Progress[],
  error: string | undefined,
  context: RouteContext,
  onSuccess: () => void,
): Reply {
  const interval = context.options.fast ? 0 : context.options.pullIntervalMs;
  const failure = context.options.failMidStream;
  const failAt = failure === undefined ? undefined : failure.afterChunks;
  const failMessage = error ?? failure?.message ?? DEFAULT_FAILURE_MESSAGE;
  const cut = error !== undefined ? steps.length : failAt;
  if (body["stream"] === false) {
    const delayMs = interval * steps.length;
    if (cut !== undefined && cut <= steps.length) return ollamaError(500, failMessage, delayMs);
    onSuccess();
    return jsonReply(200, { status: "success" }, { delayMs });
  }
  if (cut === 0) return ollamaError(500, failMessage);
  return streamReply(
    200,
    "application/x-ndjson",
    (function* () {
      for (let i = 0; i < steps.length; i++) {
        if (cut !== undefined && i >= cut) break;
        const step = steps[i] as Progress;
        if (step.status === "success") onSuccess();
        yield textPart(`${goJson(step)}\n`, i === 0 ? 0 : interval);
      }
      if (cut !== undefined && cut <= steps.length) {
        yield textPart(`${goJson({ error: failMessage })}\n`, interval);
      }
    })(),
  );
}

function nameOf(body: JsonObject): string {
  return stringField(body, "model") || stringField(body, "name");
}

function layersOf(name: string): { digest: string; size: number }[] {
  const record = describeModel(name, 0);
  const hash = stringHash(record.name);
  return [
    { digest: `sha256:${record.digest}`, size: record.size },
    { digest: `sha256:${hexDigest(hash ^ 0x5bd1e995)}`, size: 1429 },
    { digest: `sha256:${hexDigest(hash ^ 0x1b873593)}`, size: 96 },
  ];
}
