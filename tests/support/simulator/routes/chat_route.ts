/**
 * POST /api/chat.
 *
 * @module
 */

import { setupGeneration } from "../generation_setup.ts";
import { nativeGenerationReply } from "../native_generation_reply.ts";
import { nativeLoadReply } from "../native_load_reply.ts";
import { numPredictOf } from "../num_predict.ts";
import { ollamaError } from "../ollama_error.ts";
import type { CountedMessage } from "../prompt_tokens.ts";
import type { Reply } from "../reply.ts";
import { decodeOllamaRequest } from "../decode_ollama_request.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

const FIELDS = {
  model: "string",
  messages: "array",
  stream: "boolean",
  options: "object",
  tools: "array",
} as const;

/**
 * Chat in Ollama's native format; `stream` absent means true; `options.num_predict` limits the
 * answer. No messages: one `done_reason:"load"` object (`"unload"` with `keep_alive: 0`).
 */
export function chatRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeOllamaRequest(request.text, {
    structName: "api.ChatRequest",
    fields: FIELDS,
  });
  if (decoded.error) return decoded.error;
  const body = decoded.body;
  const model = stringField(body, "model");
  if (model.trim() === "") return ollamaError(400, "model is required");
  const messages = chatMessages(body["messages"]);
  if (messages === undefined) {
    return ollamaError(
      400,
      "json: cannot unmarshal messages into Go struct field ChatRequest.messages of type api.Message",
    );
  }
  const numPredict = numPredictOf(body["options"]);
  const result = setupGeneration({
    model,
    input: messages,
    verb: "chat",
    ...(numPredict === undefined ? {} : { numPredict }),
  }, context);
  if (!result.ok) return ollamaError(result.status, result.message);
  const keepAlive = body["keep_alive"];
  context.loaded.touch(result.setup.record, { keepAlive, now: context.receivedAt });
  if (messages.length === 0) return nativeLoadReply("chat", context, { model, keepAlive });
  return nativeGenerationReply(result.setup, context, {
    kind: "chat",
    stream: body["stream"] !== false,
  });
}

function chatMessages(value: unknown): CountedMessage[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return undefined;
  const messages: CountedMessage[] = [];
  for (const item of value) {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return undefined;
    const message = item as Record<string, unknown>;
    messages.push({ role: stringField(message, "role"), content: stringField(message, "content") });
  }
  return messages;
}
