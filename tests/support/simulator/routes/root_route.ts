/**
 * GET|HEAD /.
 *
 * @module
 */

import { fixedReply } from "../fixed_reply.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/** `Ollama is running`, `text/plain; charset=utf-8` (HEAD: headers only). */
export function rootRoute(_request: RouteRequest, _context: RouteContext): Reply {
  return fixedReply(200, "Ollama is running", { contentType: "text/plain; charset=utf-8" });
}
