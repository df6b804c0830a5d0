/**
 * `GET /healthz`: the exporter process is alive and serving. It does not depend on Ollama, so a
 * liveness probe never restarts the exporter because Ollama is down.
 *
 * @module
 */

import type { RouteHandler } from "./route.ts";

/** Creates the liveness route. */
export function healthRoute(): RouteHandler {
  return (request) =>
    new Response(request.method === "HEAD" ? null : "ok\n", {
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
}
