/**
 * The `endpoint` label: the route as Ollama names it, so that paths with parameters (blob
 * digests, model ids) and unknown paths cannot create unbounded series.
 *
 * @module
 */

const EXACT = new Set([
  "/",
  "/api/version",
  "/api/status",
  "/api/tags",
  "/api/ps",
  "/api/show",
  "/api/copy",
  "/api/create",
  "/api/pull",
  "/api/push",
  "/api/delete",
  "/api/generate",
  "/api/chat",
  "/api/embed",
  "/api/embeddings",
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
  "/v1/responses",
  "/v1/messages",
  "/v1/models",
]);

/** Maps a request path to its `endpoint` label value; unknown paths become `other`. */
export function endpointLabel(path: string): string {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  if (EXACT.has(trimmed)) return trimmed;
  if (trimmed.startsWith("/api/blobs/")) return "/api/blobs";
  if (trimmed.startsWith("/v1/models/")) return "/v1/models";
  return "other";
}
