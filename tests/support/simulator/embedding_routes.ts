/**
 * POST /api/embed, POST /api/embeddings (legacy) and POST /v1/embeddings.
 *
 * @module
 */

import { embeddingReply } from "./embedding_body.ts";
import { expectedEmbedding } from "./expected_embedding.ts";
import { goJson } from "./go_json.ts";
import { jsonReply, ollamaError, openaiError, type Reply } from "./reply.ts";
import { decodeRequestJson, type JsonObject, stringField } from "./request_json.ts";
import type { RouteContext, RouteRequest } from "./route_types.ts";

/**
 * POST /api/embed: `{"model","embeddings":[[...]],"total_duration","load_duration",
 * "prompt_eval_count"}` (metrics last, omitted when zero). `input` is a string or a list of
 * strings; `dimensions` truncates. Large bodies are streamed chunked.
 */
export function embedRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, "api.EmbedRequest", {
    model: "string",
    dimensions: "number",
    options: "object",
    truncate: "boolean",
  });
  if (!decoded.ok) {
    return ollamaError(400, decoded.empty ? "missing request body" : decoded.message);
  }
  const body = decoded.value;
  const inputs = embedInputs(body["input"]);
  if (inputs === undefined) return ollamaError(400, "invalid input type");
  const model = stringField(body, "model");
  const record = context.catalog.find(model);
  if (record === undefined) return ollamaError(404, `model '${model}' not found`);
  context.loaded.touch(record, body["keep_alive"], context.receivedAt);
  const expected = expectedEmbedding(model, inputs, embedOptions(body, context));
  const metrics = Object.entries(expected.metrics).filter(([, value]) => value !== 0);
  const tail = metrics.map(([key, value]) => `,${JSON.stringify(key)}:${value}`).join("");
  return embeddingReply("application/json; charset=utf-8", inputs, expected.dimensions, {
    head: `{"model":${goJson(model)},"embeddings":[`,
    open: () => "",
    close: () => "",
    tail: `]${tail}}`,
  }, delayOf(context, inputs.length));
}

/** POST /api/embeddings (legacy): `{"embedding":[...]}` for `prompt`, no metrics. */
export function embeddingsRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, "api.EmbeddingRequest", {
    model: "string",
    prompt: "string",
    options: "object",
  });
  if (!decoded.ok) {
    return ollamaError(400, decoded.empty ? "missing request body" : decoded.message);
  }
  const body = decoded.value;
  const model = stringField(body, "model");
  const record = context.catalog.find(model);
  if (record === undefined) return ollamaError(404, `model '${model}' not found`);
  context.loaded.touch(record, body["keep_alive"], context.receivedAt);
  const prompt = stringField(body, "prompt");
  if (prompt === "") return jsonReply(200, { embedding: [] });
  const expected = expectedEmbedding(model, prompt, embedOptions(body, context));
  return embeddingReply("application/json; charset=utf-8", [prompt], expected.dimensions, {
    head: `{"embedding":`,
    open: () => "",
    close: () => "",
    tail: "}",
  }, delayOf(context, 1));
}

/**
 * POST /v1/embeddings: `{"object":"list","data":[{"object":"embedding","embedding":[...],
 * "index":N}],"model","usage":{"prompt_tokens","total_tokens"}}` plus a newline;
 * `encoding_format: "base64"` gives little-endian float32 strings.
 */
export function openAiEmbeddingsRoute(request: RouteRequest, context: RouteContext): Reply {
  const decoded = decodeRequestJson(request.text, "openai.EmbedRequest", {
    model: "string",
    dimensions: "number",
    encoding_format: "string",
  });
  if (!decoded.ok) return openaiError(400, decoded.message, { stage: "middleware" });
  const body = decoded.value;
  const format = stringField(body, "encoding_format");
  if (format !== "" && !["float", "base64"].includes(format.toLowerCase())) {
    return openaiError(
      400,
      `Invalid value for 'encoding_format' = ${format}. Supported values: ['float', 'base64'].`,
      { stage: "middleware" },
    );
  }
  const rawInput = body["input"] === "" ? [""] : body["input"];
  const inputs = embedInputs(rawInput);
  if (inputs === undefined || inputs.length === 0 || rawInput === undefined) {
    return openaiError(400, "invalid input", { stage: "middleware" });
  }
  const model = stringField(body, "model");
  const record = context.catalog.find(model);
  if (record === undefined) return openaiError(404, `model '${model}' not found`);
  context.loaded.touch(record, undefined, context.receivedAt);
  const expected = expectedEmbedding(model, inputs, embedOptions(body, context));
  const usage = goJson(expected.usage);
  return embeddingReply("application/json", inputs, expected.dimensions, {
    head: `{"object":"list","data":[`,
    open: () => `{"object":"embedding","embedding":`,
    close: (i) => `,"index":${i}}`,
    tail: `],"model":${goJson(model)},"usage":${usage}}\n`,
    encoding: format.toLowerCase() === "base64" ? "base64" : "float",
  }, delayOf(context, inputs.length));
}

/** The inputs of an embed request, or undefined when `input` has the wrong type. */
function embedInputs(input: unknown): string[] | undefined {
  if (input === undefined || input === null) return [];
  if (typeof input === "string") return input === "" ? [] : [input];
  if (!Array.isArray(input)) return undefined;
  return input.every((item) => typeof item === "string") ? input as string[] : undefined;
}

function embedOptions(body: JsonObject, context: RouteContext) {
  const dimensions = body["dimensions"];
  return {
    timings: context.options.timings,
    ...(typeof dimensions === "number" ? { dimensions } : {}),
    ...(context.options.embedDimensions === undefined
      ? {}
      : { embedDimensions: context.options.embedDimensions }),
  };
}

function delayOf(context: RouteContext, count: number): number {
  return context.options.fast || count === 0 ? 0 : context.options.firstTokenDelayMs;
}
