/**
 * The request shapes the throughput benchmark sends through every target.
 *
 * @module
 */

import { REQUEST_BODIES } from "./ollama_bodies.ts";
import type { WrkRequest } from "./wrk.ts";

/** Workload names, in report order. */
export const WORKLOAD_NAMES = ["generate", "chat", "sse", "tags"] as const;

/** One workload name. */
export type WorkloadName = typeof WORKLOAD_NAMES[number];

/** What each workload sends, and what it is. */
export const WORKLOADS: Readonly<Record<WorkloadName, WrkRequest & { readonly what: string }>> = {
  generate: {
    what: 'POST /api/generate "stream":false (one JSON object)',
    method: "POST",
    path: "/api/generate",
    body: REQUEST_BODIES.generate,
  },
  chat: {
    what: "POST /api/chat stream (21 NDJSON chunks)",
    method: "POST",
    path: "/api/chat",
    body: REQUEST_BODIES.chat,
  },
  sse: {
    what: "POST /v1/chat/completions stream (SSE, 21 chunks + [DONE])",
    method: "POST",
    path: "/v1/chat/completions",
    body: REQUEST_BODIES.openai,
  },
  tags: { what: "GET /api/tags (pass-through)", method: "GET", path: "/api/tags" },
};

/** Whether `name` is a workload name. */
export function isWorkloadName(name: string): name is WorkloadName {
  return (WORKLOAD_NAMES as readonly string[]).includes(name);
}

/** Sends one request of `workload` to `origin` (10 s timeout); the caller reads the answer. */
export function fetchWorkload(origin: string, workload: WorkloadName): Promise<Response> {
  const spec = WORKLOADS[workload];
  return fetch(origin + spec.path, {
    method: spec.method,
    ...(spec.body !== undefined
      ? { body: spec.body, headers: { "content-type": "application/json" } }
      : {}),
    signal: AbortSignal.timeout(10_000),
  });
}
