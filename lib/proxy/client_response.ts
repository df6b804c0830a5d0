/**
 * Builds the response the client gets from Ollama's: same status, status text and headers (less
 * hop-by-hop ones), with `body` (Ollama's body read whole, or a stream of it).
 *
 * @module
 */

import { withoutHopHeaders } from "./hop_headers.ts";
import type { UpstreamResponse } from "../http1/upstream_response.ts";

/** Copies an upstream response onto a new body. */
export function clientResponse(
  upstream: UpstreamResponse,
  body: ReadableStream<Uint8Array> | Uint8Array | null,
): Response {
  return new Response(body as BodyInit | null, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: withoutHopHeaders(upstream.headers),
  });
}
