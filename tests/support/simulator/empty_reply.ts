/**
 * Responses without a body.
 *
 * @module
 */

import type { Reply } from "./reply.ts";

/** An empty body and no Content-Type (Go: `c.Status(code)`), e.g. 403 for a foreign Host. */
export function emptyReply(status: number, headers: Record<string, string> = {}): Reply {
  return { status, headers, framing: "length" };
}
