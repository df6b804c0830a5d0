/**
 * Ollama's OpenAI Responses API: `POST /v1/responses` (what Codex uses with `--oss`), a
 * Server-Sent Events stream or one JSON object. The request is forwarded byte for byte — also a
 * body sent with `Content-Encoding: zstd`, `gzip` or `deflate`, which is decompressed only to read
 * `model` — and the answer is observed by the {@linkcode ResponsesPart}.
 *
 * @module
 */

import { ResponsesPart } from "../observe/responses_part.ts";
import { StreamObserver } from "../observe/stream_observer.ts";
import { observedExchange } from "../proxy/observed_exchange.ts";
import type { ProxyContext } from "../proxy/proxy_context.ts";
import type { RouteHandler } from "./route.ts";

/** Creates the observed route for the OpenAI Responses API. */
export function responsesApiRoute(context: ProxyContext): RouteHandler {
  return (request, route) =>
    observedExchange(context, request, {
      route,
      shape: "openai",
      observe: (observation, upstream) =>
        new StreamObserver(observation, new ResponsesPart(observation), {
          status: upstream.status,
          streaming: (upstream.header("content-type") ?? "").includes("event-stream"),
        }),
    });
}
