/**
 * /v1/responses requests as Ollama's Responses middleware converts them.
 *
 * @module
 */

import type { GenerationAsk } from "./generation_setup.ts";
import type { CountedMessage } from "./prompt_tokens.ts";
import { decodeRequestJson } from "./request_json.ts";
import { stringField } from "./string_field.ts";
import { toolNames } from "./tool_names.ts";

const FIELDS = {
  model: "string",
  background: "boolean",
  include: "array",
  instructions: "string",
  max_output_tokens: "number",
  reasoning: "object",
  temperature: "number",
  text: "object",
  top_p: "number",
  truncation: "string",
  tools: "array",
  stream: "boolean",
} as const;

/** The request fields a Responses answer echoes. */
export interface ResponsesEcho {
  /** `model` as sent. */
  readonly model: string;
  /** `instructions` ("" when absent). */
  readonly instructions: string;
  /** `max_output_tokens`, or null. */
  readonly maxOutputTokens: number | null;
  /** `temperature`, default 1. */
  readonly temperature: number;
  /** `top_p`, default 1. */
  readonly topP: number;
  /** `truncation`, default `disabled`. */
  readonly truncation: string;
  /** `background`. */
  readonly background: boolean;
  /** The request's tools as it sent them (`type`, `name`, `description`, `strict`, `parameters`). */
  readonly tools: readonly Readonly<Record<string, unknown>>[];
  /** `text.format`, default `{type:"text"}`. */
  readonly textFormat: Readonly<Record<string, unknown>>;
  /** `reasoning.effort` ("" when absent). */
  readonly effort: string;
  /** `reasoning.summary` ("" when absent). */
  readonly summary: string;
}

/** A converted Responses request. */
export interface ResponsesRequest {
  /** What to generate. */
  readonly ask: GenerationAsk;
  /** `stream` (default false). */
  readonly stream: boolean;
  /** What the answer echoes of the request. */
  readonly echo: ResponsesEcho;
  /** No input message at all: Ollama's chat handler only loads the model. */
  readonly loadOnly: boolean;
}

/** The request, or the message of the 400 its middleware answers. */
export type ResponsesRequestResult =
  | { readonly ok: true; readonly request: ResponsesRequest }
  | { readonly ok: false; readonly message: string };

/**
 * Decodes a Responses request as Ollama does: `input` is a string (one user message) or a list
 * of items (messages with string or `input_text` / `output_text` parts, `function_call`,
 * `function_call_output`, `reasoning`); `instructions` becomes a system message;
 * `max_output_tokens` becomes `num_predict`; `reasoning.effort` `none` turns thinking off,
 * `low|medium|high|max` on, anything else is a 400.
 */
export function responsesRequest(text: string): ResponsesRequestResult {
  const decoded = decodeRequestJson(text, {
    structName: "openai.ResponsesRequest",
    fields: FIELDS,
  });
  if (!decoded.ok) return { ok: false, message: decoded.message };
  const body = decoded.value;
  const messages: CountedMessage[] = [];
  const instructions = stringField(body, "instructions");
  if (instructions !== "") messages.push({ role: "system", content: instructions });
  const input = inputMessages(body["input"]);
  if (typeof input === "string") return { ok: false, message: input };
  messages.push(...input);
  const reasoning = objectField(body, "reasoning");
  const effort = stringField(reasoning, "effort");
  if (effort !== "" && !["none", "low", "medium", "high", "max"].includes(effort)) {
    return {
      ok: false,
      message: `invalid reasoning value: ${
        JSON.stringify(effort)
      } (must be "high", "medium", "low", "max", or "none")`,
    };
  }
  const model = stringField(body, "model");
  const maxOutput = typeof body["max_output_tokens"] === "number"
    ? body["max_output_tokens"]
    : null;
  const tools = toolNames(body["tools"]);
  const ask: GenerationAsk = {
    model,
    input: messages,
    verb: "chat",
    ...(maxOutput === null ? {} : { numPredict: maxOutput }),
    ...(effort === "" ? {} : { think: effort === "none" ? false : effort }),
    ...(tools === undefined ? {} : { tools }),
  };
  const format = objectField(body, "text")["format"];
  const echo: ResponsesEcho = {
    model,
    instructions,
    maxOutputTokens: maxOutput,
    temperature: typeof body["temperature"] === "number" ? body["temperature"] : 1,
    topP: typeof body["top_p"] === "number" ? body["top_p"] : 1,
    truncation: typeof body["truncation"] === "string" ? body["truncation"] : "disabled",
    background: body["background"] === true,
    tools: Array.isArray(body["tools"])
      ? body["tools"].filter((tool): tool is Record<string, unknown> =>
        tool !== null && typeof tool === "object"
      )
      : [],
    textFormat: format !== null && typeof format === "object"
      ? format as Record<string, unknown>
      : { type: "text" },
    effort,
    summary: stringField(reasoning, "summary"),
  };
  return {
    ok: true,
    request: { ask, stream: body["stream"] === true, echo, loadOnly: messages.length === 0 },
  };
}

function objectField(
  body: Readonly<Record<string, unknown>>,
  field: string,
): Record<string, unknown> {
  const value = body[field];
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

function inputMessages(input: unknown): CountedMessage[] | string {
  if (input === undefined || input === null) return [];
  if (typeof input === "string") return input === "" ? [] : [{ role: "user", content: input }];
  if (!Array.isArray(input)) {
    return `input must be a string or array: json: cannot unmarshal ${typeof input} into Go value of type []json.RawMessage`;
  }
  const messages: CountedMessage[] = [];
  for (const [index, raw] of input.entries()) {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      return `input[${index}]: json: cannot unmarshal ${
        Array.isArray(raw) ? "array" : typeof raw
      } into Go value of type struct { Type string "json:\\"type\\""; Role string "json:\\"role\\"" }`;
    }
    const item = raw as Record<string, unknown>;
    let type = stringField(item, "type");
    if (type === "" && stringField(item, "role") !== "") type = "message";
    if (type === "message") {
      const content = messageText(item["content"]);
      if (content === undefined) return `input[${index}]: content must be a string or array`;
      messages.push({ role: stringField(item, "role"), content });
    } else if (type === "function_call") {
      const last = messages.at(-1);
      if (last?.role !== "assistant") messages.push({ role: "assistant", content: "" });
    } else if (type === "function_call_output") {
      messages.push({ role: "tool", content: stringField(item, "output") });
    } else if (type !== "reasoning") {
      return type === ""
        ? `input[${index}]: input item missing required 'type' field`
        : `input[${index}]: unknown input item type: ${JSON.stringify(type)}`;
    }
  }
  return messages;
}

function messageText(content: unknown): string | undefined {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  let text = "";
  for (const part of content) {
    if (part === null || typeof part !== "object") continue;
    const record = part as Record<string, unknown>;
    if (record["type"] === "input_text" || record["type"] === "output_text") {
      text += stringField(record, "text");
    }
  }
  return text;
}
