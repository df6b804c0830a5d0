/**
 * POST /v1/chat/completions.
 *
 * @module
 */

import { setupGeneration } from "../generation_setup.ts";
import { openaiError } from "../openai_error.ts";
import { openAiGenerationReply } from "../openai_generation_reply.ts";
import { openAiIdentity } from "../openai_identity.ts";
import { openAiRequestSettings } from "../openai_request_settings.ts";
import type { CountedMessage } from "../prompt_tokens.ts";
import type { Reply } from "../reply.ts";
import { decodeRequestJson } from "../request_json.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";
import { stringField } from "../string_field.ts";

const FIELDS = {
  model: "string",
  messages: "array",
  stream: "boolean",
  stream_options: "object",
  max_tokens: "number",
  max_completion_tokens: "number",
} as const;

/**
 * OpenAI-compatible chat: `stream` defaults to false; `max_tokens` (or `max_completion_tokens`)
 * becomes `num_predict`; empty `messages` is a 400 `[] is too short - 'messages'`; content parts
 * count as separate messages, as Ollama converts them.
 */
export function chatCompletionsRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, {
    structName: "openai.ChatCompletionRequest",
    fields: FIELDS,
  });
  if (!decoded.ok) return openaiError(400, decoded.message, { stage: "middleware" });
  const body = decoded.value;
  const rawMessages = Array.isArray(body["messages"]) ? body["messages"] as unknown[] : [];
  if (rawMessages.length === 0) {
    return openaiError(400, "[] is too short - 'messages'", { stage: "middleware" });
  }
  const messages = convertMessages(rawMessages);
  if (typeof messages === "string") return openaiError(400, messages, { stage: "middleware" });
  const model = stringField(body, "model");
  if (model.trim() === "") return openaiError(400, "model is required");
  const settings = openAiRequestSettings(body);
  const result = setupGeneration({
    model,
    input: messages,
    verb: "chat",
    ...(settings.numPredict === undefined ? {} : { numPredict: settings.numPredict }),
  }, context);
  if (!result.ok) return openaiError(result.status, result.message);
  context.loaded.touch(result.setup.record, { keepAlive: undefined, now: context.receivedAt });
  const identity = openAiIdentity("chat", context, { includeUsage: settings.includeUsage });
  return openAiGenerationReply(result.setup, identity, { stream: settings.stream });
}

/** OpenAI messages as Ollama converts them, or the error text of a malformed one. */
function convertMessages(raw: readonly unknown[]): CountedMessage[] | string {
  const messages: CountedMessage[] = [];
  for (const item of raw) {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      return "invalid message format";
    }
    const message = item as Record<string, unknown>;
    const role = stringField(message, "role");
    const content = message["content"];
    if (typeof content === "string") {
      messages.push({ role, content });
    } else if (Array.isArray(content)) {
      for (const part of content) {
        if (part === null || typeof part !== "object") return "invalid message format";
        const typed = part as Record<string, unknown>;
        if (typed["type"] === "text" && typeof typed["text"] === "string") {
          messages.push({ role, content: typed["text"] });
        } else if (typed["type"] === "image_url") {
          messages.push({ role, content: "" });
        } else {
          return "invalid message format";
        }
      }
    } else if (Array.isArray(message["tool_calls"])) {
      messages.push({ role, content: "" });
    } else {
      return `invalid message content type: ${content == null ? "<nil>" : typeof content}`;
    }
  }
  return messages;
}
