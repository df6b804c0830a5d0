/**
 * HEAD /api/blobs/:digest.
 *
 * @module
 */

import { normaliseDigest } from "../blob_digest.ts";
import { emptyReply } from "../empty_reply.ts";
import { fixedReply } from "../fixed_reply.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/** 200 when the blob exists, else 404. */
export function headBlobRoute(request: RouteRequest, context: RouteContext): Reply {
  const raw = request.params["digest"] ?? "";
  const digest = normaliseDigest(raw);
  if (digest !== undefined && context.blobs.has(digest)) return emptyReply(200);
  return fixedReply(404, `blob ${JSON.stringify(raw)} not found`, {
    contentType: "text/plain; charset=utf-8",
  });
}
