/**
 * `CONNECT host:port` asks a forward proxy for a tunnel. The exporter is not one, and Ollama has
 * no use for it: passed on, it would reach Ollama as `CONNECT /`. It is answered here with 405.
 *
 * @module
 */

import type { RouteHandler } from "./route.ts";

/** The methods the exporter passes on, for the `Allow` header of a refused CONNECT. */
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/** Returns `route` with `CONNECT` requests answered 405 (JSON error, `Allow` header). */
export function connectRefusal(route: RouteHandler): RouteHandler {
  return (request, context) => {
    if (request.method !== "CONNECT") return route(request, context);
    return new Response(
      JSON.stringify({ error: "method not allowed: the exporter does not tunnel CONNECT" }) + "\n",
      {
        status: 405,
        headers: { "content-type": "application/json; charset=utf-8", allow: ALLOWED_METHODS },
      },
    );
  };
}
