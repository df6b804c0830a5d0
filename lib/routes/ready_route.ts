/**
 * `GET /readyz`: 200 once Ollama answered the last check, 503 before that, while it is down,
 * and while the exporter drains for shutdown (so a load balancer stops sending it traffic).
 *
 * @module
 */

import type { RouteHandler } from "./route.ts";

/** What readiness depends on. */
export interface Readiness {
  /** Whether Ollama answered the last check. */
  readonly up: boolean;
  /** Whether the exporter is shutting down. */
  readonly draining: boolean;
  /** Ollama's address, named in the 503 body. */
  readonly upstream: string;
}

/** Creates the readiness route. */
export function readyRoute(readiness: Readiness): RouteHandler {
  return (request) => {
    const ready = readiness.up && !readiness.draining;
    const body = ready ? { status: "ready" } : {
      status: "not ready",
      reason: readiness.draining
        ? "shutting down"
        : `Ollama at ${readiness.upstream} does not answer`,
    };
    return new Response(request.method === "HEAD" ? null : JSON.stringify(body) + "\n", {
      status: ready ? 200 : 503,
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    });
  };
}
