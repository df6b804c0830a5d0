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
  readonly record: ModelRecord;
  readonly plan: ExpectedCompletion;
  readonly timeline: GenerationTimeline;
}

/** What a generation asks for. */
export interface GenerationAsk {
  /** Model name as the request gave it. */
  readonly model: string;
  readonly input: string | readonly CountedMessage[];
  /** `generate` or `chat`: the verb of Ollama's capability error. */
  readonly verb: "generate" | "chat";
  readonly numPredict?: number;
  readonly system?: string;
}

/** Result of {@link setupGeneration}: a setup, or the error Ollama's handler would return. */
export type SetupResult =
  | { readonly ok: true; readonly setup: GenerationSetup }
  | { readonly ok: false; readonly status: number; readonly message: string };

/**
 * Looks the model up (404 `model 'X' not found`), checks it can generate (400 `"X" does not
 * support generate|chat`), and plans the answer and its timeline with the simulator's
 * configuration.
 */
export function setupGeneration(ask: GenerationAsk, context: RouteContext): SetupResult {
  const record = context.catalog.find(ask.model);
  if (record === undefined) {
    return { ok: false, status: 404, message: `model '${ask.model}' not found` };
  }
  if (!record.capabilities.includes("completion")) {
    return { ok: false, status: 400, message: `"${ask.model}" does not support ${ask.verb}` };
  }
  const options = context.options;
  const plan = expectedCompletion(ask.model, ask.input, {
    responseTokens: options.responseTokens,
    timings: options.timings,
    lastTokenInFinalChunk: options.lastTokenInFinalChunk,
    ...(ask.numPredict === undefined ? {} : { numPredict: ask.numPredict }),
    ...(ask.system === undefined ? {} : { system: ask.system }),
  });
  const timeline = generationTimeline(plan, {
    firstTokenDelayMs: options.fast ? 0 : options.firstTokenDelayMs,
    tokenDelayMs: options.fast ? 0 : options.tokenDelayMs,
    failMidStream: options.failMidStream,
  });
  return { ok: true, setup: { record, plan, timeline } };
}
