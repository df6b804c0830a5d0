/**
 * GET|HEAD / and GET|HEAD /api/version.
 *
 * @module
 */

import { fixedReply, jsonReply, type Reply } from "./reply.ts";
import type { RouteContext, RouteRequest } from "./route_types.ts";

/** GET|HEAD /: `Ollama is running`, `text/plain; charset=utf-8`. */
export function rootRoute(_request: RouteRequest, _context: RouteContext): Reply {
  return fixedReply(200, "text/plain; charset=utf-8", "Ollama is running");
}

/** GET|HEAD /api/version: `{"version":"0.33.0"}` (option `version`). */
export function versionRoute(_request: RouteRequest, context: RouteContext): Reply {
  return jsonReply(200, { version: context.options.version });
}
