/**
 * Ollama's OpenAI-compatible endpoints: `POST /v1/chat/completions`, `/v1/completions` (SSE
 * streams or one JSON object) and `/v1/embeddings`.
 *
 * A stream only reports token usage when the client asks for it, so for a streaming request
 * without `stream_options.include_usage` the proxy asks for it itself and removes what that adds
 * before the client sees the stream (see `OpenAiStreamObserver`). Every other request is
 * forwarded byte for byte.
 *
 * @module
 */

import { OpenAiStreamObserver } from "../proxy/openai_stream_observer.ts";
import { observedExchange } from "../proxy/observed_exchange.ts";
import type { ProxyContext } from "../proxy/proxy_context.ts";
import type { RouteHandler } from "./route.ts";

const encoder = new TextEncoder();

/** Adds `stream_options.include_usage` to a streaming request that lacks it. */
function requestUsage(json: Record<string, unknown>): Uint8Array | undefined {
  if (json.stream !== true) return undefined;
  const options = json.stream_options;
  const record = typeof options === "object" && options !== null && !Array.isArray(options)
    ? options as Record<string, unknown>
    : {};
  if (record.include_usage === true) return undefined;
  return encoder.encode(
    JSON.stringify({ ...json, stream_options: { ...record, include_usage: true } }),
  );
}

/** Creates the observed route for the OpenAI-compatible API. */
export function openAiApiRoute(context: ProxyContext): RouteHandler {
  return (request, route) =>
    observedExchange(context, request, {
      route,
      shape: "openai",
      rewrite: route.url.pathname === "/v1/embeddings" ? undefined : requestUsage,
      observe: (observation, upstream, { rewritten }) =>
        new OpenAiStreamObserver(observation, {
          status: upstream.status,
          streaming: (upstream.header("content-type") ?? "").includes("event-stream"),
          stripUsage: rewritten,
        }),
    });
}
