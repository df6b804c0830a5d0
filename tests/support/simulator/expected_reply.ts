/**
 * What the simulator answers to a generation request of any API family, computed without a
 * server from the request body a test sends: tokens, chunks, tool calls and the finish reason as
 * each family reports them.
 *
 * @module
 */

import { anthropicRequest } from "./anthropic_request.ts";
import { anthropicStopReason } from "./anthropic_stop_reason.ts";
import { completionRequest } from "./completion_request.ts";
import { describeModel } from "./describe_model.ts";
import {
  type ExpectedCompletion,
  expectedCompletion,
  type ExpectedCompletionOptions,
} from "./expected_completion.ts";
import type { GenerationAsk } from "./generation_setup.ts";
import { nativeRequest } from "./native_request.ts";
import { openAiChatRequest } from "./openai_chat_request.ts";
import type { OpenAiStreamFormat } from "./openai_stream_format.ts";
import { responsesRequest } from "./responses_request.ts";

/** The generation endpoints. */
export type GenerationPath =
  | "/api/generate"
  | "/api/chat"
  | "/v1/chat/completions"
  | "/v1/completions"
  | "/v1/messages"
  | "/v1/responses";

/** Simulator configuration that changes an answer (the simulator passes its own). */
export interface ExpectedReplyOptions extends
  Pick<
    ExpectedCompletionOptions,
    | "responseTokens"
    | "thinkingTokens"
    | "stopsNaturally"
    | "timings"
    | "lastTokenInFinalChunk"
    | "capabilities"
    | "callsTool"
    | "trainedContextLength"
  > {
  /** Shape of `/v1/chat/completions` streams (default `0.32.6`, the default version's). */
  readonly openAiStreamFormat?: OpenAiStreamFormat;
}

/** One answer as its API family reports it. */
export interface ExpectedReply {
  /** The planned generation (token texts, pieces, metrics). */
  readonly completion: ExpectedCompletion;
  /** Whether the request asked for a stream (each family's default applied). */
  readonly stream: boolean;
  /**
   * The prompt tokens the family reports: `prompt_eval_count`, `usage.prompt_tokens`,
   * `usage.input_tokens` (a Messages stream: of `message_delta`).
   */
  readonly inputTokens: number;
  /** The output tokens it reports: `eval_count`, `completion_tokens`, `output_tokens`. */
  readonly outputTokens: number;
  /**
   * `/v1/messages` streams: the `input_tokens` of `message_start`, Ollama's rough estimate (the
   * real count when the first native line is already the last); undefined elsewhere.
   */
  readonly estimatedInputTokens: number | undefined;
  /** Stream lines / events carrying output (thinking, text, tool call); 0 when not streaming. */
  readonly outputChunks: number;
  /** Output chunks carrying answer text or a tool call (not thinking); 0 when not streaming. */
  readonly answerChunks: number;
  /** Output chunks carrying thinking; 0 when not streaming. */
  readonly thinkingChunks: number;
  /** Tool calls of the answer. */
  readonly toolCalls: number;
  /**
   * The reason on the wire: native `done_reason`, OpenAI `finish_reason`, Anthropic
   * `stop_reason`, Responses `status` (always `completed`: Ollama never sends `incomplete`).
   */
  readonly finishReason: string;
}

/**
 * The answer to `body` (the JSON value, or its text) sent to `path`, for a request the simulator
 * answers with a generation. Throws for a request it rejects or answers with a load response.
 */
export function expectedReply(
  path: GenerationPath,
  body: unknown,
  options: ExpectedReplyOptions = {},
): ExpectedReply {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const parsed = parse(path, text);
  if (typeof parsed === "string") {
    throw new Error(`Cannot compute the answer to ${path} ${text.slice(0, 200)}: ${parsed}`);
  }
  const { ask, stream, estimate } = parsed;
  const capabilities = options.capabilities ?? describeModel(ask.model, 0).capabilities;
  const thinks = ask.think !== undefined && ask.think !== false;
  if (thinks && !capabilities.includes("thinking") && ask.relaxThinking !== true) {
    throw new Error(
      `Cannot compute the answer to ${path}: "${ask.model}" does not support thinking`,
    );
  }
  const completion = expectedCompletion(ask.model, ask.input, {
    ...options,
    ...(ask.numPredict === undefined ? {} : { numPredict: ask.numPredict }),
    ...(ask.numCtx === undefined ? {} : { numCtx: ask.numCtx }),
    ...(ask.system === undefined ? {} : { system: ask.system }),
    ...(ask.think === undefined ? {} : { think: ask.think }),
    ...(ask.tools === undefined ? {} : { tools: ask.tools }),
  });
  const count = (kind: string) => completion.pieces.filter((piece) => piece.kind === kind).length;
  const final = completion.finalText === "" ? 0 : 1;
  const thinking = path === "/v1/completions" ? 0 : count("thinking");
  const answer = count("content") + count("tool_calls") + final;
  const called = completion.toolCalls.length > 0;
  const reason = completion.doneReason;
  let finishReason: string = reason;
  if (path === "/v1/chat/completions" && called) {
    const newShape = (options.openAiStreamFormat ?? "0.32.6") === "0.32.6";
    if (!newShape || reason === "stop") finishReason = "tool_calls";
  } else if (path === "/v1/messages") {
    finishReason = anthropicStopReason(reason, called);
  } else if (path === "/v1/responses") {
    finishReason = "completed";
  }
  return {
    completion,
    stream,
    inputTokens: completion.usage.prompt_tokens,
    outputTokens: completion.usage.completion_tokens,
    estimatedInputTokens: estimate === undefined || !stream
      ? undefined
      : completion.pieces.length === 0
      ? completion.usage.prompt_tokens
      : estimate,
    outputChunks: stream ? thinking + answer : 0,
    answerChunks: stream ? answer : 0,
    thinkingChunks: stream ? thinking : 0,
    toolCalls: completion.toolCalls.length,
    finishReason,
  };
}

interface Parsed {
  readonly ask: GenerationAsk;
  readonly stream: boolean;
  readonly estimate?: number;
}

function parse(path: GenerationPath, text: string): Parsed | string {
  switch (path) {
    case "/api/generate":
    case "/api/chat": {
      const result = nativeRequest(path === "/api/chat" ? "chat" : "generate", text);
      if (!result.ok) return result.message;
      if (result.request.loadOnly) return "it only loads the model";
      return result.request;
    }
    case "/v1/chat/completions": {
      const result = openAiChatRequest(text);
      if (!result.ok) return result.message;
      return { ask: result.request.ask, stream: result.request.settings.stream };
    }
    case "/v1/completions": {
      const result = completionRequest(text);
      if (!result.ok) return result.message;
      if (result.request.loadOnly) return "it only loads the model";
      return { ask: result.request.ask, stream: result.request.settings.stream };
    }
    case "/v1/messages": {
      const result = anthropicRequest(text);
      if (!result.ok) return result.message;
      const { ask, stream, estimatedInputTokens } = result.request;
      return { ask, stream, estimate: estimatedInputTokens };
    }
    case "/v1/responses": {
      const result = responsesRequest(text);
      if (!result.ok) return result.message;
      if (result.request.loadOnly) return "it only loads the model";
      return result.request;
    }
  }
}
