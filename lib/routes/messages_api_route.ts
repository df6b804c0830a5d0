/**
 * Ollama's Anthropic-compatible Messages API: `POST /v1/messages` (Claude Code sends
 * `/v1/messages?beta=true`), a Server-Sent Events stream or one JSON object. The request is
 * forwarded byte for byte, its body scanned for `model` on the way; the answer is observed by
 * the {@linkcode MessagesPart}. The exporter's own errors use Anthropic's error shape.
 *
 * @module
 */

import { MessagesPart } from "../observe/messages_part.ts";
import { StreamObserver } from "../observe/stream_observer.ts";
import { observedExchange } from "../proxy/observed_exchange.ts";
import type { ProxyContext } from "../proxy/proxy_context.ts";
import type { RouteHandler } from "./route.ts";

/** Creates the observed route for the Anthropic Messages API. */
export function messagesApiRoute(context: ProxyContext): RouteHandler {
  return (request, route) =>
    observedExchange(context, request, {
      route,
      shape: "anthropic",
      observe: (observation, upstream) =>
        new StreamObserver(observation, new MessagesPart(observation), {
          status: upstream.status,
          streaming: (upstream.header("content-type") ?? "").includes("event-stream"),
        }),
    });
}
