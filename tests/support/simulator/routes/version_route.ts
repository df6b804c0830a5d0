/**
 * GET|HEAD /api/version.
 *
 * @module
 */

import { jsonReply } from "../json_reply.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/** `{"version":"0.33.0"}` (simulator option `version`). */
export function versionRoute(_request: RouteRequest, context: RouteContext): Reply {
  return jsonReply(200, { version: context.options.version });
}
