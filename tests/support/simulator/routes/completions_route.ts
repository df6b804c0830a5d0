/**
 * POST /v1/completions.
 *
 * @module
 */

import { completionLoadReply } from "../completion_load_reply.ts";
import { completionRequest } from "../completion_request.ts";
import { admitGeneration } from "../admit_generation.ts";
import { setupGeneration } from "../generation_setup.ts";
import { openaiError } from "../openai_error.ts";
import { openAiGenerationReply } from "../openai_generation_reply.ts";
import { openAiIdentity } from "../openai_identity.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/**
 * OpenAI-compatible completion: `stream` defaults to false; `max_tokens` becomes `num_predict`;
 * an empty prompt answers like Ollama's load response (`finish_reason:"load"`). A full scheduler
 * queue is a 503 in OpenAI's shape.
 */
export async function completionsRoute(
  request: RouteRequest,
  context: RouteContext,
): Promise<Reply> {
  const parsed = completionRequest(request.text);
  if (!parsed.ok) return openaiError(parsed.status, parsed.message, { stage: parsed.stage });
  const { ask, settings, loadOnly } = parsed.request;
  const result = setupGeneration(ask, context);
  if (!result.ok) return openaiError(result.status, result.message);
  const admitted = await admitGeneration(result.setup, context, {
    keepAlive: undefined,
    slot: !loadOnly,
  });
  if (!admitted.ok) return openaiError(admitted.status, admitted.message);
  const identity = openAiIdentity("completion", context, { includeUsage: settings.includeUsage });
  if (loadOnly) return completionLoadReply(identity, { model: ask.model, stream: settings.stream });
  return openAiGenerationReply(admitted.setup, identity, {
    stream: settings.stream,
    clock: context.clock,
  });
}
