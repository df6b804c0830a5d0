/**
 * Every request the exporter does not observe in detail (`/`, `/api/tags`, `/api/ps`,
 * `/api/pull` progress, blobs, unknown paths, any method): forwarded unchanged, and Ollama's
 * response passed back as it came, without its bytes being parsed. The request is counted when
 * the body has been passed on whole (or broke off).
 *
 * @module
 */

import { endpointLabel } from "../endpoint_label.ts";
import { normalizeModelName } from "../model_name.ts";
import type { ProxyContext } from "../proxy/proxy_context.ts";
import { parseJsonObject } from "../proxy/request_json.ts";
import { answer, forwardObserved, readRequestBody } from "../proxy/observed_exchange.ts";
import { PassThroughObserver } from "../proxy/pass_through_observer.ts";
import type { RouteHandler } from "./route.ts";

/** Endpoints whose small JSON request body names a model. */
const NAMES_A_MODEL = new Set([
  "/api/show",
  "/api/pull",
  "/api/push",
  "/api/delete",
  "/api/create",
  "/v1/responses",
  "/v1/messages",
]);
const MAX_PARSED_BODY = 1 << 20;

/** Creates the generic pass-through route. */
export function passthroughRoute(context: ProxyContext): RouteHandler {
  return async (request, route) => {
    const { url } = route;
    const endpoint = endpointLabel(url.pathname);
    let body: Uint8Array | undefined;
    let model = "";
    const length = Number(request.headers.get("content-length") ?? NaN);
    if (NAMES_A_MODEL.has(endpoint) && request.body && length <= MAX_PARSED_BODY) {
      const read = await readRequestBody(context, request, route);
      if (read instanceof Response) return read;
      body = read;
      const json = parseJsonObject(body);
      model = normalizeModelName(json?.model ?? json?.name);
    }
    const shape = url.pathname.startsWith("/v1/") ? "openai" : "ollama";
    const forwarded = await forwardObserved(context, request, {
      route,
      model,
      ...(body ? { body } : {}),
      shape,
      // A 200 here does not prove the model exists (pull reports failures inside its stream);
      // installed models are admitted from /api/tags by the monitor.
      admitOnSuccess: false,
    });
    if (forwarded instanceof Response) return forwarded;
    const { observation, upstream } = forwarded;
    const observer = new PassThroughObserver(observation, { status: upstream.status });
    return await answer(upstream, observer, {
      observation,
      shape,
      clientGone: () => request.signal.aborted,
    });
  };
}
