/**
 * Ollama's OpenAI-compatible endpoints: `POST /v1/chat/completions`, `/v1/completions` (SSE
 * streams or one JSON object) and `/v1/embeddings`.
 *
 * A stream only reports token usage when the client asks for it, so for a streaming request
 * without `stream_options.include_usage: true` the proxy asks for it itself: it inserts
 * `,"stream_options":{"include_usage":true}` in front of the body's closing `}`, editing the bytes
 * in place (Ollama decodes with Go's `encoding/json`, where the last occurrence of a key wins and
 * a later `stream_options` object merges into an earlier one). Everything else the client sent
 * reaches Ollama byte for byte, and what the insertion adds is removed before the client sees the
 * stream (see `OpenAiPart`). With `INJECT_STREAM_USAGE=false` nothing is inserted: such
 * streams then carry no token counts. Every other request is forwarded byte for byte.
 *
 * @module
 */

import { OpenAiPart } from "../observe/openai_part.ts";
import { StreamObserver } from "../observe/stream_observer.ts";
import { observedExchange } from "../proxy/observed_exchange.ts";
import type { ProxyContext } from "../proxy/proxy_context.ts";
import type { JsonFieldScanner } from "../streams/json_field_scanner.ts";
import type { RouteHandler } from "./route.ts";

const encoder = new TextEncoder();
/** The member inserted into an object that has members already. */
const AFTER_MEMBERS = encoder.encode(',"stream_options":{"include_usage":true}');
/** The member inserted into an empty object. */
const ONLY_MEMBER = AFTER_MEMBERS.subarray(1);
/** The fields the insertion decision reads. */
const FIELDS = ["stream", "stream_options"];

/**
 * Returns the bytes that ask for usage, to insert in front of the closing `}` of a streaming
 * request whose `stream_options.include_usage` is not `true`; nothing for any other request (or
 * when `stream_options` is there but could not be read, or is not an object).
 */
export function requestUsage(scan: JsonFieldScanner): Uint8Array | undefined {
  if (scan.value("stream") !== true) return undefined;
  const options = scan.value("stream_options");
  if (options === undefined && scan.has("stream_options")) return undefined;
  if (options !== undefined && options !== null) {
    if (typeof options !== "object" || Array.isArray(options)) return undefined;
    if ((options as Record<string, unknown>).include_usage === true) return undefined;
  }
  return scan.empty ? ONLY_MEMBER : AFTER_MEMBERS;
}

/** Creates the observed route for the OpenAI-compatible API. */
export function openAiApiRoute(context: ProxyContext): RouteHandler {
  const inject = context.limits.injectStreamUsage;
  return (request, route) =>
    observedExchange(context, request, {
      route,
      shape: "openai",
      ...(inject && route.url.pathname !== "/v1/embeddings"
        ? { fields: FIELDS, insert: requestUsage }
        : {}),
      observe: (observation, upstream, { rewritten }) =>
        new StreamObserver(observation, new OpenAiPart(observation, { stripUsage: rewritten }), {
          status: upstream.status,
          streaming: (upstream.header("content-type") ?? "").includes("event-stream"),
        }),
    });
}
