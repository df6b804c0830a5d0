/**
 * The checks and planning every generation endpoint shares: model lookup, capability, answer.
 *
 * @module
 */

import type { ModelRecord } from "./describe_model.ts";
import { type ExpectedCompletion, expectedCompletion } from "./expected_completion.ts";
import { type GenerationTimeline, generationTimeline } from "./generation_timeline.ts";
import type { CountedMessage } from "./prompt_tokens.ts";
import type { RouteContext } from "./route_types.ts";

/** A generation ready to be written. */
export interface GenerationSetup {
  /** The installed model. */
  readonly record: ModelRecord;
  /** The answer. */
  readonly plan: ExpectedCompletion;
  /** Its chunks and their delays. */
  readonly timeline: GenerationTimeline;
}

/** What a generation asks for, once a family's request is converted as Ollama converts it. */
export interface GenerationAsk {
  /** Model name as the request gave it. */
  readonly model: string;
  /** The prompt, or the messages as the family converts them. */
  readonly input: string | readonly CountedMessage[];
  /** `generate` or `chat`: the verb of Ollama's capability error. */
  readonly verb: "generate" | "chat";
  /** The token limit (`num_predict`, `max_tokens`, `max_output_tokens`). */
  readonly numPredict?: number;
  /** The context length asked for (native `options.num_ctx`); absent: Ollama's default. */
  readonly numCtx?: number;
  /** `system` of /api/generate. */
  readonly system?: string;
  /** The thinking switch (`true`, `false` or a level); absent: the model's default. */
  readonly think?: boolean | string;
  /**
   * `/v1/messages` only: thinking asked of a model that cannot think is dropped instead of
   * refused (Ollama "relaxes" it for Anthropic clients).
   */
  readonly relaxThinking?: boolean;
  /** Names of the tools the request offers. */
  readonly tools?: readonly string[];
}

/** Result of {@link setupGeneration}: a setup, or the error Ollama's handler would return. */
export type SetupResult =
  | { readonly ok: true; readonly setup: GenerationSetup }
  | { readonly ok: false; readonly status: number; readonly message: string };

/**
 * Looks the model up (404 `model 'X' not found`), checks thinking (400 `"X" does not support
 * thinking` when it is asked of a model without the capability) and that it can generate (400
 * `"X" does not support generate|chat`), and plans the answer and its timeline with the
 * simulator's configuration, in the context the model is loaded with for this request.
 */
export function setupGeneration(ask: GenerationAsk, context: RouteContext): SetupResult {
  const record = context.catalog.find(ask.model);
  if (record === undefined) {
    return { ok: false, status: 404, message: `model '${ask.model}' not found` };
  }
  const thinks = ask.think !== undefined && ask.think !== false;
  if (thinks && !record.capabilities.includes("thinking") && ask.relaxThinking !== true) {
    return { ok: false, status: 400, message: `"${ask.model}" does not support thinking` };
  }
  if (!record.capabilities.includes("completion")) {
    return { ok: false, status: 400, message: `"${ask.model}" does not support ${ask.verb}` };
  }
  const options = context.options;
  const plan = expectedCompletion(ask.model, ask.input, {
    responseTokens: options.responseTokens,
    thinkingTokens: options.thinkingTokens,
    stopsNaturally: options.stopsNaturally,
    timings: options.timings,
    lastTokenInFinalChunk: options.lastTokenInFinalChunk,
    capabilities: record.capabilities,
    callsTool: record.callsTool,
    trainedContextLength: record.contextLength,
    ...(ask.numPredict === undefined ? {} : { numPredict: ask.numPredict }),
    ...(ask.numCtx === undefined ? {} : { numCtx: ask.numCtx }),
    ...(ask.system === undefined ? {} : { system: ask.system }),
    ...(ask.think === undefined ? {} : { think: ask.think }),
    ...(ask.tools === undefined ? {} : { tools: ask.tools }),
  });
  const timeline = generationTimeline(plan, {
    firstTokenDelayMs: options.fast ? 0 : options.firstTokenDelayMs,
    tokenDelayMs: options.fast ? 0 : options.tokenDelayMs,
    failMidStream: options.failMidStream,
    pauseMidStream: options.fast ? undefined : options.pauseMidStream,
  });
  return { ok: true, setup: { record, plan, timeline } };
}
