/**
 * /v1/chat/completions requests as Ollama's OpenAI middleware converts them.
 *
 * @module
 */

import type { GenerationAsk } from "./generation_setup.ts";
import { type OpenAiRequestSettings, openAiRequestSettings } from "./openai_request_settings.ts";
import type { CountedMessage } from "./prompt_tokens.ts";
import { decodeRequestJson } from "./request_json.ts";
import { stringField } from "./string_field.ts";
import { toolNames } from "./tool_names.ts";

const FIELDS = {
  model: "string",
  messages: "array",
  stream: "boolean",
  stream_options: "object",
  max_tokens: "number",
  tools: "array",
  reasoning: "object",
  reasoning_effort: "string",
} as const;

const EFFORTS = ["high", "medium", "low", "max", "none"];

/** A converted chat request. */
export interface OpenAiChatRequest {
  /** What to generate. */
  readonly ask: GenerationAsk;
  /** `stream`, `stream_options.include_usage`, `max_tokens`. */
  readonly settings: OpenAiRequestSettings;
}

/**
 * The request, or the 400 Ollama's middleware answers (`stage: "middleware"`) or its handler
 * answers (`model is required`).
 */
export type OpenAiChatRequestResult =
  | { readonly ok: true; readonly request: OpenAiChatRequest }
  | {
    readonly ok: false;
    readonly status: number;
    readonly message: string;
    readonly stage: "middleware" | "handler";
  };

/**
 * Decodes a chat request: `max_tokens` becomes `num_predict`; `reasoning.effort` or
 * `reasoning_effort` (`high|medium|low|max` think, `none` does not, anything else is a 400)
 * becomes `think`; `tools` are offered; empty `messages` is a 400 `[] is too short - 'messages'`;
 * content parts count as separate messages, as Ollama converts them.
 */
export function openAiChatRequest(text: string): OpenAiChatRequestResult {
  const decoded = decodeRequestJson(text, {
    structName: "openai.ChatCompletionRequest",
    fields: FIELDS,
  });
  const middleware = (message: string) =>
    ({ ok: false, status: 400, message, stage: "middleware" }) as const;
  if (!decoded.ok) return middleware(decoded.message);
  const body = decoded.value;
  const rawMessages = Array.isArray(body["messages"]) ? body["messages"] as unknown[] : [];
  if (rawMessages.length === 0) return middleware("[] is too short - 'messages'");
  const messages = convertMessages(rawMessages);
  if (typeof messages === "string") return middleware(messages);
  const reasoning = body["reasoning"];
  const effort = reasoning !== null && typeof reasoning === "object"
    ? stringField(reasoning as Record<string, unknown>, "effort")
    : stringField(body, "reasoning_effort");
  if (effort !== "" && !EFFORTS.includes(effort)) {
    return middleware(
      `invalid reasoning value: '${effort}' (must be "high", "medium", "low", "max", or "none")`,
    );
  }
  const model = stringField(body, "model");
  if (model.trim() === "") {
    return { ok: false, status: 400, message: "model is required", stage: "handler" };
  }
  const settings = openAiRequestSettings(body);
  const tools = toolNames(body["tools"]);
  const ask: GenerationAsk = {
    model,
    input: messages,
    verb: "chat",
    ...(settings.numPredict === undefined ? {} : { numPredict: settings.numPredict }),
    ...(effort === "" ? {} : { think: effort === "none" ? false : effort }),
    ...(tools === undefined ? {} : { tools }),
  };
  return { ok: true, request: { ask, settings } };
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
