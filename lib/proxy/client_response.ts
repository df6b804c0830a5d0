/**
 * Builds the response the client gets from Ollama's: same status, status text and headers (less
 * hop-by-hop ones), with `body` (Ollama's own body stream, or a tap of it).
 *
 * @module
 */

import { withoutHopHeaders } from "./hop_headers.ts";

/** Copies an upstream response onto a new body. */
export function clientResponse(
  upstream: Response,
  body: ReadableStream<Uint8Array> | Uint8Array | null,
): Response {
  return new Response(body as BodyInit | null, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: withoutHopHeaders(upstream.headers),
  });
}
