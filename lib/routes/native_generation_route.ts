/**
 * `POST /api/generate` and `POST /api/chat`: forwarded unchanged, the response observed on its
 * way back (streamed NDJSON or one JSON object) for per-model request, latency and token metrics.
 *
 * @module
 */

import { endpointLabel } from "../endpoint_label.ts";
import { normalizeModelName } from "../model_name.ts";
import { clientResponse } from "../proxy/client_response.ts";
import { NativeStreamObserver } from "../proxy/native_stream_observer.ts";
import type { ProxyContext } from "../proxy/proxy_context.ts";
import { RequestObservation } from "../proxy/request_observation.ts";
import { parseJsonObject } from "../proxy/request_json.ts";
import { upstreamFailure } from "../proxy/upstream_failure.ts";
import { tapBody } from "../streams/tap_body.ts";
import { finishWhenSent } from "./passthrough_route.ts";
import type { RouteHandler } from "./route.ts";

/** Creates the observed route for Ollama's native generation endpoints. */
export function nativeGenerationRoute(context: ProxyContext): RouteHandler {
  return async (request, { url, start, completed }) => {
    let body: Uint8Array;
    try {
      body = await request.bytes();
    } catch {
      return new Response(null, { status: 499 });
    }
    const json = parseJsonObject(body);
    const observation = new RequestObservation(context.sinks, {
      method: request.method,
      path: url.pathname,
      endpoint: endpointLabel(url.pathname),
      model: normalizeModelName(json?.model),
      start,
      ...(context.clientOf ? { client: context.clientOf(request) } : {}),
    });
    let upstream: Response;
    try {
      upstream = await context.upstream.forward(request, url, {
        body,
        clientSignal: request.signal,
      });
    } catch (error) {
      return upstreamFailure(observation, error, {
        shape: "ollama",
        logger: context.sinks.logger,
        clientGone: request.signal.aborted,
      });
    }
    const status = upstream.status;
    if (status >= 400) observation.fail("upstream_error");
    const encoded = (upstream.headers.get("content-encoding") ?? "identity") !== "identity";
    if (!upstream.body || status >= 400 || encoded) {
      // Nothing to read metrics from (error bodies, or bytes compressed by something in front of
      // Ollama, which are passed on as they are): Deno pipes the body natively.
      finishWhenSent(observation, status, completed);
      return clientResponse(upstream, upstream.body);
    }
    const streaming = (upstream.headers.get("content-type") ?? "").includes("ndjson");
    const observer = new NativeStreamObserver(observation, { status, streaming });
    return clientResponse(upstream, tapBody(upstream.body, observer));
  };
}
