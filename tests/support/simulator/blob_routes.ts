/**
 * HEAD and POST /api/blobs/:digest.
 *
 * @module
 */

import { emptyReply, fixedReply, ollamaError, type Reply } from "./reply.ts";
import type { RouteContext, RouteRequest } from "./route_types.ts";

const DIGEST = /^sha256[:-]([0-9a-fA-F]{64})$/;

/** HEAD /api/blobs/:digest: 200 when the blob exists, else 404. */
export function headBlobRoute(request: RouteRequest, context: RouteContext): Reply {
  const digest = normalise(request.params["digest"] ?? "");
  if (digest !== undefined && context.blobs.has(digest)) return emptyReply(200);
  return fixedReply(
    404,
    "text/plain; charset=utf-8",
    `blob ${JSON.stringify(request.params["digest"] ?? "")} not found`,
  );
}

/**
 * POST /api/blobs/:digest: stores the body when its SHA-256 matches the digest (201, or 200 when
 * already present); 400 `digest mismatch` otherwise.
 */
export async function createBlobRoute(
  request: RouteRequest,
  context: RouteContext,
): Promise<Reply> {
  const raw = request.params["digest"] ?? "";
  const expected = normalise(raw);
  if (expected === undefined) return ollamaError(400, "invalid digest format");
  if (context.blobs.has(expected)) return emptyReply(200);
  const hash = await crypto.subtle.digest("SHA-256", request.bytes);
  const actual = `sha256:${
    [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
  if (actual !== expected) {
    return ollamaError(
      400,
      `digest mismatch, expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }
  context.blobs.add(expected);
  return emptyReply(201);
}

function normalise(digest: string): string | undefined {
  const match = DIGEST.exec(digest);
  return match === null ? undefined : `sha256:${(match[1] ?? "").toLowerCase()}`;
}
