/**
 * POST /api/generate.
 *
 * @module
 */

import { admitGeneration } from "../admit_generation.ts";
import { setupGeneration } from "../generation_setup.ts";
import { keepAliveMs } from "../keep_alive.ts";
import { nativeGenerationReply } from "../native_generation_reply.ts";
import { nativeLoadReply } from "../native_load_reply.ts";
import { nativeRequest } from "../native_request.ts";
import { ollamaError } from "../ollama_error.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/**
 * Generation in Ollama's native format; `stream` absent means true; `options.num_predict` limits
 * the answer; a thinking model thinks unless `think` is false; `raw` leaves `context` out. An empty prompt (and no system or
 * template) loads the model and answers one `done_reason:"load"` object (`"unload"` with
 * `keep_alive: 0`, which skips the scheduler), even when streaming was asked. Requests go through
 * the scheduler (parallel slots, queue, 503 when it is full; see `scheduler.ts`).
 */
export async function generateRoute(request: RouteRequest, context: RouteContext): Promise<Reply> {
  const parsed = nativeRequest("generate", request.text);
  if (!parsed.ok) return ollamaError(parsed.status, parsed.message);
  const { ask, keepAlive, stream, loadOnly, raw } = parsed.request;
  const result = setupGeneration(ask, context);
  if (!result.ok) return ollamaError(result.status, result.message);
  if (loadOnly && keepAliveMs(keepAlive) === 0) {
    context.loaded.touch(result.setup.record, { keepAlive, now: context.receivedAt });
    return nativeLoadReply("generate", context, { model: ask.model, keepAlive });
  }
  const admitted = await admitGeneration(result.setup, context, { keepAlive, slot: !loadOnly });
  if (!admitted.ok) return ollamaError(admitted.status, admitted.message);
  if (loadOnly) return nativeLoadReply("generate", context, { model: ask.model, keepAlive });
  return nativeGenerationReply(admitted.setup, context, { kind: "generate", stream, raw });
}
