/**
 * Every request the exporter does not observe in detail (`/`, `/api/tags`, `/api/ps`,
 * `/api/pull` progress, blobs, unknown paths, any method): forwarded unchanged, and Ollama's
 * response passed back as it came, without its bytes being parsed. The request is counted when
 * the body has been passed on whole (or broke off).
 *
 * On the endpoints whose JSON body names a model (`NAMES_A_MODEL`) the body is scanned on its way
 * for `model` (or `name`) in bounded memory, and refused with 413 over `MAX_REQUEST_BYTES`. Other
 * bodies (blob uploads, unknown paths) are streamed through unread and not limited.
 *
 * @module
 */

import { endpointLabel } from "../endpoint_label.ts";
import type { ProxyContext } from "../proxy/proxy_context.ts";
import { answer, forwardObserved, openRequestBody } from "../proxy/observed_exchange.ts";
import type { ScannedRequestBody } from "../proxy/scanned_request_body.ts";
import { PassThroughObserver } from "../observe/pass_through_observer.ts";
import { errorShapeOf } from "../proxy/upstream_failure.ts";
import type { RouteHandler } from "./route.ts";

/** Endpoints whose JSON request body names a model. */
const NAMES_A_MODEL = new Set([
  "/api/show",
  "/api/pull",
  "/api/push",
  "/api/delete",
  "/api/create",
  "/v1/responses",
  "/v1/messages",
]);
/** The fields that name the model, the first present wins. */
const MODEL_KEYS = ["model", "name"];

/** Creates the generic pass-through route. */
export function passthroughRoute(context: ProxyContext): RouteHandler {
  return async (request, route) => {
    const { url } = route;
    const endpoint = endpointLabel(url.pathname);
    const shape = errorShapeOf(url.pathname);
    // A 200 here does not prove the model exists (pull reports failures inside its stream);
    // installed models are admitted from /api/tags by the monitor.
    const admitOnSuccess = false;
    let body: ScannedRequestBody | undefined;
    if (NAMES_A_MODEL.has(endpoint)) {
      const opened = await openRequestBody(context, request, {
        route,
        shape,
        fields: MODEL_KEYS,
        admitOnSuccess,
      });
      if (opened instanceof Response) return opened;
      body = opened;
    }
    const forwarded = await forwardObserved(context, request, {
      route,
      ...(body ? { body } : {}),
      modelKeys: MODEL_KEYS,
      shape,
      admitOnSuccess,
    });
    if (forwarded instanceof Response) return forwarded;
    const { observation, upstream } = forwarded;
    const observer = new PassThroughObserver(observation, { status: upstream.status });
    return await answer(upstream, observer, {
      observation,
      shape,
      clientSignal: request.signal,
    });
  };
}
