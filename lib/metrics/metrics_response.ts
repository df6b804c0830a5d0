/**
 * The `/metrics` response: negotiation, encoding and compression in one place.
 *
 * @module
 */

import { acceptsGzip, negotiateFormat } from "./negotiate.ts";
import { encodeOpenMetrics, OPENMETRICS_CONTENT_TYPE } from "./open_metrics_format.ts";
import type { Registry } from "./registry.ts";
import { encodeText, TEXT_CONTENT_TYPE } from "./text_format.ts";

/**
 * Answers a scrape: picks the format from `Accept` ({@link negotiateFormat}), collects the
 * registry and encodes it, and gzips the body with `CompressionStream` when `Accept-Encoding`
 * allows it (only then are `Content-Encoding: gzip` and `Vary: Accept-Encoding` set). `HEAD` gets
 * the same headers without collecting or a body; other methods get 405 with `Allow: GET, HEAD`.
 */
export async function metricsResponse(registry: Registry, request: Request): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response(`Cannot ${request.method} /metrics: only GET and HEAD are allowed\n`, {
      status: 405,
      headers: { "allow": "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
    });
  }
  const openMetrics = negotiateFormat(request.headers.get("accept")) === "openmetrics";
  const gzip = acceptsGzip(request.headers.get("accept-encoding"));
  const headers = new Headers({
    "content-type": openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE,
  });
  if (gzip) {
    headers.set("content-encoding", "gzip");
    headers.set("vary", "Accept-Encoding");
  }
  if (request.method === "HEAD") return new Response(null, { headers });

  const families = await registry.collect();
  const body = openMetrics ? encodeOpenMetrics(families) : encodeText(families);
  if (!gzip) return new Response(body, { headers });
  const compressed = new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(compressed, { headers });
}
