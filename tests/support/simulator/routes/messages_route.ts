/**
 * POST /v1/messages.
 *
 * @module
 */

import { anthropicError } from "../anthropic_error.ts";
import { anthropicReply } from "../anthropic_reply.ts";
import { anthropicRequest } from "../anthropic_request.ts";
import { admitGeneration } from "../admit_generation.ts";
import { setupGeneration } from "../generation_setup.ts";
import type { Reply } from "../reply.ts";
import { requestHashId } from "../request_hash_id.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/**
 * Anthropic Messages (see {@link anthropicRequest} for the conversion, {@link anthropicReply} for
 * the answer). Ids (`msg_…`, `req_…`) derive from the request body: the same request gets the
 * same ids. A full scheduler queue is a 503 `overloaded_error`.
 */
export async function messagesRoute(request: RouteRequest, context: RouteContext): Promise<Reply> {
  const ids = {
    message: requestHashId(request.text, { salt: "msg", length: 24 }),
    request: requestHashId(request.text, { salt: "req", length: 24 }),
  };
  const parsed = anthropicRequest(request.text);
  if (!parsed.ok) {
    return anthropicError(400, parsed.message, { requestId: ids.request, stage: "middleware" });
  }
  const { ask, stream, estimatedInputTokens } = parsed.request;
  const result = setupGeneration(ask, context);
  if (!result.ok) {
    return anthropicError(result.status, result.message, { requestId: ids.request, stream });
  }
  const admitted = await admitGeneration(result.setup, context, { keepAlive: undefined });
  if (!admitted.ok) {
    return anthropicError(admitted.status, admitted.message, { requestId: ids.request, stream });
  }
  return anthropicReply(admitted.setup, { stream, ids, estimate: estimatedInputTokens });
}
