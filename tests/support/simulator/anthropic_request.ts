/**
 * /v1/messages requests as Ollama's Anthropic middleware converts them.
 *
 * @module
 */

import { anthropicInputEstimate } from "./anthropic_estimate.ts";
import type { GenerationAsk } from "./generation_setup.ts";
import type { CountedMessage } from "./prompt_tokens.ts";
import { decodeRequestJson } from "./request_json.ts";
import { stringField } from "./string_field.ts";
import { toolNames } from "./tool_names.ts";

const FIELDS = {
  model: "string",
  max_tokens: "number",
  messages: "array",
  stream: "boolean",
  stop_sequences: "array",
  tools: "array",
  thinking: "object",
  metadata: "object",
  output_config: "object",
} as const;

/** A converted Messages request. */
export interface AnthropicRequest {
  /** What to generate. */
  readonly ask: GenerationAsk;
  /** `stream` (default false). */
  readonly stream: boolean;
  /** What `message_start` reports as `input_tokens` (see {@link anthropicInputEstimate}). */
  readonly estimatedInputTokens: number;
}

/** The request, or the 400 message the middleware answers. */
export type AnthropicRequestResult =
  | { readonly ok: true; readonly request: AnthropicRequest }
  | { readonly ok: false; readonly message: string };

/**
 * Decodes a Messages request as Ollama does: bad JSON, then `model is required`, `max_tokens is
 * required and must be positive`, `messages is required` are 400s. `max_tokens` becomes
 * `num_predict`; `system` becomes a system message; the text blocks of a message are joined
 * into one message, tool results become tool messages; `thinking.type` `enabled` / `disabled`
 * (or `output_config.effort`) switches thinking, which a model without it silently ignores.
 */
export function anthropicRequest(text: string): AnthropicRequestResult {
  const decoded = decodeRequestJson(text, {
    structName: "anthropic.MessagesRequest",
    fields: FIELDS,
  });
  if (!decoded.ok) return { ok: false, message: decoded.message };
  const body = decoded.value;
  const model = stringField(body, "model");
  if (model === "") return { ok: false, message: "model is required" };
  const maxTokens = typeof body["max_tokens"] === "number" ? body["max_tokens"] : 0;
  if (maxTokens <= 0) return { ok: false, message: "max_tokens is required and must be positive" };
  const rawMessages = Array.isArray(body["messages"]) ? body["messages"] : [];
  if (rawMessages.length === 0) return { ok: false, message: "messages is required" };
  const messages: CountedMessage[] = [];
  const system = systemText(body["system"]);
  if (system !== "") messages.push({ role: "system", content: system });
  for (const raw of rawMessages) {
    const converted = convertMessage(raw);
    if (typeof converted === "string") return { ok: false, message: converted };
    messages.push(...converted);
  }
  const tools = toolNames(body["tools"]);
  const think = thinkOf(body);
  const ask: GenerationAsk = {
    model,
    input: messages,
    verb: "chat",
    numPredict: maxTokens,
    relaxThinking: true,
    ...(think === undefined ? {} : { think }),
    ...(tools === undefined ? {} : { tools }),
  };
  return {
    ok: true,
    request: {
      ask,
      stream: body["stream"] === true,
      estimatedInputTokens: anthropicInputEstimate(body),
    },
  };
}

function systemText(system: unknown): string {
  if (typeof system === "string") return system;
  if (!Array.isArray(system)) return "";
  let text = "";
  for (const block of system) {
    if (block !== null && typeof block === "object") {
      const record = block as Record<string, unknown>;
      if (record["type"] === "text" && typeof record["text"] === "string") text += record["text"];
    }
  }
  return text;
}

function convertMessage(raw: unknown): CountedMessage[] | string {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return `json: cannot unmarshal ${
      Array.isArray(raw) ? "array" : typeof raw
    } into Go value of type anthropic.MessageParam`;
  }
  const message = raw as Record<string, unknown>;
  const role = stringField(message, "role").toLowerCase();
  const content = message["content"];
  if (typeof content === "string") return content === "" ? [] : [{ role, content }];
  if (content === undefined || content === null) return [];
  if (!Array.isArray(content)) {
    return `json: cannot unmarshal ${typeof content} into Go value of type []anthropic.ContentBlock`;
  }
  let text = "";
  let other = false;
  const results: CountedMessage[] = [];
  for (const block of content) {
    if (block === null || typeof block !== "object") continue;
    const record = block as Record<string, unknown>;
    const type = record["type"];
    if (type === "text" && typeof record["text"] === "string") text += record["text"];
    else if (type === "tool_result") results.push({ role: "tool", content: resultText(record) });
    else if (type === "tool_use" || type === "thinking") other = true;
  }
  const own = text !== "" || other ? [{ role, content: text }] : [];
  return role === "user" ? [...results, ...own] : [...own, ...results];
}

function resultText(block: Readonly<Record<string, unknown>>): string {
  const content = block["content"];
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content) {
    if (part !== null && typeof part === "object") {
      const record = part as Record<string, unknown>;
      if (record["type"] === "text" && typeof record["text"] === "string") text += record["text"];
    }
  }
  return text;
}

function thinkOf(body: Readonly<Record<string, unknown>>): boolean | string | undefined {
  const thinking = body["thinking"];
  if (thinking !== null && typeof thinking === "object") {
    const type = stringField(thinking as Record<string, unknown>, "type");
    if (type === "enabled") return true;
    if (type === "disabled") return false;
  }
  const config = body["output_config"];
  if (config === null || typeof config !== "object") return undefined;
  let effort = stringField(config as Record<string, unknown>, "effort").trim().toLowerCase();
  if (effort === "xhigh") effort = "high";
  return ["high", "medium", "low", "max"].includes(effort) ? effort : undefined;
}
