/**
 * POST /v1/chat/completions and POST /v1/completions.
 *
 * @module
 */

import type { CountedMessage } from "./expected_completion.ts";
import { setupGeneration } from "./generation_setup.ts";
import { completionLoadReply, openAiGenerationReply, openAiIdentity } from "./openai_generation.ts";
import { openaiError, type Reply } from "./reply.ts";
import { decodeRequestJson, type JsonObject, objectField, stringField } from "./request_json.ts";
import type { RouteContext, RouteRequest } from "./route_types.ts";

const CHAT_FIELDS = {
  model: "string",
  messages: "array",
  stream: "boolean",
  stream_options: "object",
  max_tokens: "number",
  max_completion_tokens: "number",
} as const;

const COMPLETION_FIELDS = {
  model: "string",
  prompt: "string",
  stream: "boolean",
  stream_options: "object",
  max_tokens: "number",
  suffix: "string",
} as const;

/**
 * POST /v1/chat/completions: `stream` defaults to false; `max_tokens` (or
 * `max_completion_tokens`) becomes `num_predict`; empty `messages` is a 400.
 */
export function chatCompletionsRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, "openai.ChatCompletionRequest", CHAT_FIELDS);
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
  const numPredict = maxTokens(body);
  const result = setupGeneration({
    model,
    input: messages,
    verb: "chat",
    ...(numPredict === undefined ? {} : { numPredict }),
  }, context);
  if (!result.ok) return openaiError(result.status, result.message);
  context.loaded.touch(result.setup.record, undefined, context.receivedAt);
  const identity = openAiIdentity("chat", context, includeUsage(body));
  return openAiGenerationReply("chat", result.setup, body["stream"] === true, identity);
}

/**
 * POST /v1/completions: `stream` defaults to false; `max_tokens` becomes `num_predict`; an
 * empty prompt answers like Ollama's load response (`finish_reason:"load"`).
 */
export function completionsRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, "openai.CompletionRequest", COMPLETION_FIELDS);
  if (!decoded.ok) return openaiError(400, decoded.message, { stage: "middleware" });
  const body = decoded.value;
  const model = stringField(body, "model");
  if (model.trim() === "") return openaiError(404, `model '${model}' not found`);
  const prompt = stringField(body, "prompt");
  const numPredict = maxTokens(body);
  const result = setupGeneration({
    model,
    input: prompt,
    verb: "generate",
    ...(numPredict === undefined ? {} : { numPredict }),
  }, context);
  if (!result.ok) return openaiError(result.status, result.message);
  context.loaded.touch(result.setup.record, undefined, context.receivedAt);
  const stream = body["stream"] === true;
  const identity = openAiIdentity("completion", context, includeUsage(body));
  if (prompt === "" && stringField(body, "suffix") === "") {
    return completionLoadReply(stream, identity, model);
  }
  return openAiGenerationReply("completion", result.setup, stream, identity);
}

function includeUsage(body: JsonObject): boolean {
  return objectField(body, "stream_options")["include_usage"] === true;
}

function maxTokens(body: JsonObject): number | undefined {
  for (const field of ["max_tokens", "max_completion_tokens"]) {
    const value = body[field];
    if (typeof value === "number" && Number.isFinite(value)) return value;
  }
  return undefined;
}

/** OpenAI messages as Ollama converts them, or the error text of a malformed one. */
function convertMessages(raw: readonly unknown[]): CountedMessage[] | string {
  const messages: CountedMessage[] = [];
  for (const item of raw) {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      return "invalid message format";
    }
    const message = item as JsonObject;
    const role = stringField(message, "role");
    const content = message["content"];
    if (typeof content === "string") {
      messages.push({ role, content });
    } else if (Array.isArray(content)) {
      for (const part of content) {
        if (part === null || typeof part !== "object") return "invalid message format";
        const typed = part as JsonObject;
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
      return `invalid message content type: ${content === undefined ? "<nil>" : typeof content}`;
    }
  }
  return messages;
}
