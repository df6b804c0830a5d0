/**
 * /v1/completions requests as Ollama's OpenAI middleware converts them.
 *
 * @module
 */

import type { GenerationAsk } from "./generation_setup.ts";
import { type OpenAiRequestSettings, openAiRequestSettings } from "./openai_request_settings.ts";
import { decodeRequestJson } from "./request_json.ts";
import { stringField } from "./string_field.ts";

const FIELDS = {
  model: "string",
  prompt: "string",
  stream: "boolean",
  stream_options: "object",
  max_tokens: "number",
  suffix: "string",
} as const;

/** A converted completion request. */
export interface CompletionRequest {
  /** What to generate. */
  readonly ask: GenerationAsk;
  /** `stream`, `stream_options.include_usage`, `max_tokens`. */
  readonly settings: OpenAiRequestSettings;
  /** No prompt and no suffix: Ollama only loads the model. */
  readonly loadOnly: boolean;
}

/** The request, or the error: 400 from the middleware, 404 for a missing model name. */
export type CompletionRequestResult =
  | { readonly ok: true; readonly request: CompletionRequest }
  | {
    readonly ok: false;
    readonly status: number;
    readonly message: string;
    readonly stage: "middleware" | "handler";
  };

/** Decodes a completion request: `max_tokens` becomes `num_predict`; there is no `think`. */
export function completionRequest(text: string): CompletionRequestResult {
  const decoded = decodeRequestJson(text, {
    structName: "openai.CompletionRequest",
    fields: FIELDS,
  });
  if (!decoded.ok) {
    return { ok: false, status: 400, message: decoded.message, stage: "middleware" };
  }
  const body = decoded.value;
  const model = stringField(body, "model");
  if (model.trim() === "") {
    return { ok: false, status: 404, message: `model '${model}' not found`, stage: "handler" };
  }
  const prompt = stringField(body, "prompt");
  const settings = openAiRequestSettings(body);
  const ask: GenerationAsk = {
    model,
    input: prompt,
    verb: "generate",
    ...(settings.numPredict === undefined ? {} : { numPredict: settings.numPredict }),
  };
  const loadOnly = prompt === "" && stringField(body, "suffix") === "";
  return { ok: true, request: { ask, settings, loadOnly } };
}
