/**
 * A whole body written in one go, framed as Go's net/http frames it.
 *
 * @module
 */

import { type Reply, textPart } from "./reply.ts";

/** Go's net/http sends Content-Length when a handler writes at most this much without flushing. */
export const GO_BUFFER_BEFORE_CHUNKING = 2048;

/**
 * A whole body written at once after `delayMs`: Content-Length up to 2048 bytes, chunked above
 * (Go's net/http buffers 2048 bytes before it falls back to chunked encoding).
 */
export function fixedReply(
  status: number,
  body: string,
  options: { readonly contentType: string; readonly delayMs?: number },
): Reply {
  const part = textPart(body, options.delayMs ?? 0);
  return {
    status,
    headers: { "content-type": options.contentType },
    parts: [part],
    framing: part.bytes.length <= GO_BUFFER_BEFORE_CHUNKING ? "length" : "chunked",
  };
}
