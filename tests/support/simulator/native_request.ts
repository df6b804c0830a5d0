/**
 * /api/generate and /api/chat requests as Ollama's handlers read them.
 *
 * @module
 */

import type { GenerationAsk } from "./generation_setup.ts";
import { nativeThink } from "./native_think.ts";
import { numCtxOf } from "./num_ctx.ts";
import { numPredictOf } from "./num_predict.ts";
import type { CountedMessage } from "./prompt_tokens.ts";
import { decodeRequestJson } from "./request_json.ts";
import { stringField } from "./string_field.ts";
import { toolNames } from "./tool_names.ts";

const FIELDS = {
  generate: {
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
  },
  chat: {
    model: "string",
    messages: "array",
    stream: "boolean",
    options: "object",
    tools: "array",
  },
} as const;

/** A decoded native generation request. */
export interface NativeRequest {
  /** What to generate. */
  readonly ask: GenerationAsk;
  /** `stream` absent means true. */
  readonly stream: boolean;
  /** `keep_alive` as sent. */
  readonly keepAlive: unknown;
  /** No prompt (generate) or no messages (chat): Ollama only loads the model. */
  readonly loadOnly: boolean;
  /** `raw` (generate): no template, and no `context` in the final object. */
  readonly raw: boolean;
}

/** Result of {@link nativeRequest}: the request, or the status and message of Ollama's error. */
export type NativeRequestResult =
  | { readonly ok: true; readonly request: NativeRequest }
  | { readonly ok: false; readonly status: number; readonly message: string };

/**
 * Decodes a native request body: 400 for bad JSON (`missing request body` when empty), a bad
 * `think` or malformed messages; `model` missing is a 404 for generate (Ollama answers an invalid
 * name like an unknown one there) and a 400 `model is required` for chat. `options.num_predict`
 * limits the answer, `options.num_ctx` sets the context the model is loaded with, `think` switches thinking, `tools` (chat) offers tools.
 */
export function nativeRequest(kind: "generate" | "chat", text: string): NativeRequestResult {
  const decoded = decodeRequestJson(text, {
    structName: kind === "generate" ? "api.GenerateRequest" : "api.ChatRequest",
    fields: FIELDS[kind],
  });
  if (!decoded.ok) {
    return {
      ok: false,
      status: 400,
      message: decoded.empty ? "missing request body" : decoded.message,
    };
  }
  const body = decoded.value;
  const think = nativeThink(body["think"]);
  if (!think.ok) return { ok: false, status: 400, message: think.message };
  const model = stringField(body, "model");
  const numPredict = numPredictOf(body["options"]);
  const numCtx = numCtxOf(body["options"]);
  const common = {
    model,
    ...(numPredict === undefined ? {} : { numPredict }),
    ...(numCtx === undefined ? {} : { numCtx }),
    ...(think.think === undefined ? {} : { think: think.think }),
  };
  const stream = body["stream"] !== false;
  const keepAlive = body["keep_alive"];
  if (kind === "generate") {
    if (model.trim() === "") {
      return { ok: false, status: 404, message: `model '${model}' not found` };
    }
    const prompt = stringField(body, "prompt");
    const system = stringField(body, "system");
    const ask: GenerationAsk = {
      ...common,
      input: prompt,
      verb: "generate",
      ...(system === "" ? {} : { system }),
    };
    const loadOnly = prompt === "" && system === "" && stringField(body, "template") === "";
    const raw = body["raw"] === true;
    return { ok: true, request: { ask, stream, keepAlive, loadOnly, raw } };
  }
  if (model.trim() === "") return { ok: false, status: 400, message: "model is required" };
  const messages = chatMessages(body["messages"]);
  if (messages === undefined) {
    return {
      ok: false,
      status: 400,
      message:
        "json: cannot unmarshal messages into Go struct field ChatRequest.messages of type api.Message",
    };
  }
  const tools = toolNames(body["tools"]);
  const ask: GenerationAsk = {
    ...common,
    input: messages,
    verb: "chat",
    ...(tools === undefined ? {} : { tools }),
  };
  return {
    ok: true,
    request: { ask, stream, keepAlive, loadOnly: messages.length === 0, raw: false },
  };
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
