/**
 * POST /api/blobs/:digest.
 *
 * @module
 */

import { normaliseDigest } from "../blob_digest.ts";
import { emptyReply } from "../empty_reply.ts";
import { ollamaError } from "../ollama_error.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/**
 * Stores the body when its SHA-256 matches the digest: 201 (200 when already present); 400
 * `digest mismatch, expected "sha256:...", got "sha256:..."` otherwise.
 */
export async function createBlobRoute(
  request: RouteRequest,
  context: RouteContext,
): Promise<Reply> {
  const expected = normaliseDigest(request.params["digest"] ?? "");
  if (expected === undefined) return ollamaError(400, "invalid digest format");
  if (context.blobs.has(expected)) return emptyReply(200);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", request.bytes));
  const actual = `sha256:${[...hash].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  if (actual !== expected) {
    return ollamaError(
      400,
      `digest mismatch, expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }
  context.blobs.add(expected);
  return emptyReply(201);
}
