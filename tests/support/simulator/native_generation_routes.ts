/**
 * POST /api/generate and POST /api/chat.
 *
 * @module
 */

import type { CountedMessage } from "./expected_completion.ts";
import { numPredictOf, setupGeneration } from "./generation_setup.ts";
import { goTime } from "./go_time.ts";
import { isUnload } from "./keep_alive.ts";
import { nativeGenerationReply, nativeObject } from "./native_generation.ts";
import { jsonReply, ollamaError, type Reply } from "./reply.ts";
import { decodeRequestJson, type JsonObject, stringField } from "./request_json.ts";
import type { RouteContext, RouteRequest } from "./route_types.ts";

const GENERATE_FIELDS = {
  model: "string",
  prompt: "string",
  suffix: "string",
  system: "string",
  template: "string",
  stream: "boolean",
  raw: "boolean",
  options: "object",
  context: "array",
  images: "array",
} as const;

const CHAT_FIELDS = {
  model: "string",
  messages: "array",
  stream: "boolean",
  options: "object",
  tools: "array",
} as const;

/**
 * POST /api/generate. `stream` absent means true. An empty prompt (and no system or template)
 * loads the model and answers one `done_reason:"load"` object (`"unload"` with `keep_alive: 0`),
 * even when streaming was asked for.
 */
export function generateRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, "api.GenerateRequest", GENERATE_FIELDS);
  if (!decoded.ok) {
    return ollamaError(400, decoded.empty ? "missing request body" : decoded.message);
  }
  const body = decoded.value;
  const model = stringField(body, "model");
  if (model.trim() === "") return ollamaError(404, `model '${model}' not found`);
  const prompt = stringField(body, "prompt");
  const system = stringField(body, "system");
  const numPredict = numPredictOf(body["options"]);
  const result = setupGeneration({
    model,
    input: prompt,
    verb: "generate",
    ...(system === "" ? {} : { system }),
    ...(numPredict === undefined ? {} : { numPredict }),
  }, context);
  if (!result.ok) return ollamaError(result.status, result.message);
  context.loaded.touch(result.setup.record, body["keep_alive"], context.receivedAt);
  if (prompt === "" && system === "" && stringField(body, "template") === "") {
    return loadReply("generate", model, body, context);
  }
  return nativeGenerationReply("generate", result.setup, body["stream"] !== false, context);
}

/**
 * POST /api/chat. `stream` absent means true. No messages: one `done_reason:"load"` object
 * (`"unload"` with `keep_alive: 0`).
 */
export function chatRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, "api.ChatRequest", CHAT_FIELDS);
  if (!decoded.ok) {
    return ollamaError(400, decoded.empty ? "missing request body" : decoded.message);
  }
  const body = decoded.value;
  const model = stringField(body, "model");
  if (model.trim() === "") return ollamaError(400, "model is required");
  const messages = chatMessages(body["messages"]);
  if (messages === undefined) {
    return ollamaError(400, "json: cannot unmarshal messages: each message must be an object");
  }
  const numPredict = numPredictOf(body["options"]);
  const result = setupGeneration({
    model,
    input: messages,
    verb: "chat",
    ...(numPredict === undefined ? {} : { numPredict }),
  }, context);
  if (!result.ok) return ollamaError(result.status, result.message);
  context.loaded.touch(result.setup.record, body["keep_alive"], context.receivedAt);
  if (messages.length === 0) return loadReply("chat", model, body, context);
  return nativeGenerationReply("chat", result.setup, body["stream"] !== false, context);
}

function loadReply(
  kind: "generate" | "chat",
  model: string,
  body: JsonObject,
  context: RouteContext,
): Reply {
  const reason = isUnload(body["keep_alive"]) ? "unload" : "load";
  return jsonReply(
    200,
    nativeObject(kind, model, goTime(context.clock()), "", { reason }),
  );
}

function chatMessages(value: unknown): CountedMessage[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return undefined;
  const messages: CountedMessage[] = [];
  for (const item of value) {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return undefined;
    const message = item as JsonObject;
    messages.push({
      role: stringField(message, "role"),
      content: stringField(message, "content"),
    });
  }
  return messages;
}
