/**
 * Streamed (chunked) 200 responses.
 *
 * @module
 */

import type { BodyPart, Reply } from "./reply.ts";

/** A 200 with a chunked body of lazily produced parts, flushed one by one. */
export function streamReply(contentType: string, parts: Iterable<BodyPart>): Reply {
  return { status: 200, headers: { "content-type": contentType }, parts, framing: "chunked" };
}
