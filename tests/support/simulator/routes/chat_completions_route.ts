/**
 * POST /v1/chat/completions.
 *
 * @module
 */

import { admitGeneration } from "../admit_generation.ts";
import { setupGeneration } from "../generation_setup.ts";
import { openAiChatRequest } from "../openai_chat_request.ts";
import { openaiError } from "../openai_error.ts";
import { openAiGenerationReply } from "../openai_generation_reply.ts";
import { openAiIdentity } from "../openai_identity.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/**
 * OpenAI-compatible chat (see {@link openAiChatRequest} for the conversion): `stream` defaults
 * to false; thinking shows as `reasoning`, a tool call as `tool_calls`. A full scheduler queue is
 * a 503 in OpenAI's shape.
 */
export async function chatCompletionsRoute(
  request: RouteRequest,
  context: RouteContext,
): Promise<Reply> {
  const parsed = openAiChatRequest(request.text);
  if (!parsed.ok) return openaiError(parsed.status, parsed.message, { stage: parsed.stage });
  const { ask, settings } = parsed.request;
  const result = setupGeneration(ask, context);
  if (!result.ok) return openaiError(result.status, result.message);
  const admitted = await admitGeneration(result.setup, context, { keepAlive: undefined });
  if (!admitted.ok) return openaiError(admitted.status, admitted.message);
  const identity = openAiIdentity("chat", context, { includeUsage: settings.includeUsage });
  return openAiGenerationReply(admitted.setup, identity, {
    stream: settings.stream,
    clock: context.clock,
  });
}
