/**
 * Ollama's native endpoints that carry numbers: `POST /api/generate`, `/api/chat` (NDJSON
 * streams or one JSON object), `/api/embed` and `/api/embeddings` (one JSON object, possibly
 * tens of megabytes). The request is forwarded byte for byte, its body scanned on the way for
 * `model` in bounded memory (and refused with 413 over `MAX_REQUEST_BYTES`); the response is
 * observed on its way back.
 *
 * @module
 */

import { NativePart } from "../observe/native_part.ts";
import { StreamObserver } from "../observe/stream_observer.ts";
import { observedExchange } from "../proxy/observed_exchange.ts";
import type { ProxyContext } from "../proxy/proxy_context.ts";
import type { RouteHandler } from "./route.ts";

/** Creates the observed route for Ollama's native API. */
export function nativeApiRoute(context: ProxyContext): RouteHandler {
  return (request, route) =>
    observedExchange(context, request, {
      route,
      shape: "ollama",
      observe: (observation, upstream) =>
        new StreamObserver(observation, new NativePart(observation), {
          status: upstream.status,
          streaming: (upstream.header("content-type") ?? "").includes("ndjson"),
        }),
    });
}
