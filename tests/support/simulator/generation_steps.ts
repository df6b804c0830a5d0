/**
 * The timeline of one simulated generation: token chunks, then the final chunk or an error, each
 * with the delay before it. Native and OpenAI-compatible endpoints format the same timeline.
 *
 * @module
 */

import type { ExpectedCompletion } from "./expected_completion.ts";
import { DEFAULT_FAILURE_MESSAGE, type MidStreamFailure } from "./simulator_options.ts";

/** One event of a generation. */
export type GenerationStep =
  | { readonly kind: "token"; readonly text: string; readonly delayMs: number }
  | { readonly kind: "done"; readonly text: string; readonly delayMs: number }
  | { readonly kind: "error"; readonly message: string; readonly delayMs: number };

/** Delays and failure injection of a generation. */
export interface GenerationBehaviour {
  readonly firstTokenDelayMs: number;
  readonly tokenDelayMs: number;
  readonly failMidStream: MidStreamFailure | undefined;
}

/**
 * Yields the chunks of `plan`: its intermediate chunks (the first after `firstTokenDelayMs`, the
 * others after `tokenDelayMs`), then the final chunk (right after the last token, or after
 * `tokenDelayMs` when it carries text). With `failMidStream`, an error step replaces everything
 * after `afterChunks` token chunks. Lazy: a stream of a million tokens costs no memory up front.
 */
export function* generationSteps(
  plan: ExpectedCompletion,
  behaviour: GenerationBehaviour,
): Generator<GenerationStep, void, undefined> {
  const failure = behaviour.failMidStream;
  let index = 0;
  const delay = (): number => index === 0 ? behaviour.firstTokenDelayMs : behaviour.tokenDelayMs;
  for (const text of plan.chunks) {
    if (failure !== undefined && index >= failure.afterChunks) break;
    yield { kind: "token", text, delayMs: delay() };
    index++;
  }
  if (failure !== undefined && index >= failure.afterChunks) {
    yield { kind: "error", message: failure.message ?? DEFAULT_FAILURE_MESSAGE, delayMs: delay() };
    return;
  }
  const finalDelay = index === 0
    ? behaviour.firstTokenDelayMs
    : plan.finalText === ""
    ? 0
    : behaviour.tokenDelayMs;
  yield { kind: "done", text: plan.finalText, delayMs: finalDelay };
}

/** Total time a whole generation takes (what a non-streaming request waits before its answer). */
export function generationTime(plan: ExpectedCompletion, behaviour: GenerationBehaviour): number {
  let total = 0;
  for (const step of generationSteps(plan, behaviour)) total += step.delayMs;
  return total;
}

/** The error a generation ends with, if `failMidStream` makes it fail. */
export function generationFailure(
  plan: ExpectedCompletion,
  behaviour: GenerationBehaviour,
): string | undefined {
  const failure = behaviour.failMidStream;
  if (failure === undefined || failure.afterChunks > plan.chunks.length) return undefined;
  return failure.message ?? DEFAULT_FAILURE_MESSAGE;
}
