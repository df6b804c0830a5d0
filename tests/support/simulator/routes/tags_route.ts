/**
 * GET|HEAD /api/tags.
 *
 * @module
 */

import { goTime } from "../go_time.ts";
import { jsonReply } from "../json_reply.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/** Installed models, newest first: `{"models":[{name, model, modified_at, size, digest, details}]}`. */
export function tagsRoute(_request: RouteRequest, context: RouteContext): Reply {
  const models = context.catalog.list().map((record) => ({
    name: record.name,
    model: record.name,
    modified_at: goTime(record.modifiedAt),
    size: record.size,
    digest: record.digest,
    details: record.details,
  }));
  return jsonReply(200, { models });
}
