/**
 * The timeline of one simulated generation: its intermediate chunks, then the final chunk or an
 * error, each with the delay before it. Every API family formats the same timeline.
 *
 * @module
 */

import type { ExpectedCompletion, OutputPiece } from "./expected_completion.ts";
import {
  DEFAULT_FAILURE_MESSAGE,
  type MidStreamFailure,
  type MidStreamPause,
} from "./simulator_options.ts";

/** One event of a generation. */
export type GenerationStep =
  | { readonly kind: "piece"; readonly piece: OutputPiece; readonly delayMs: number }
  | { readonly kind: "done"; readonly text: string; readonly delayMs: number }
  | { readonly kind: "error"; readonly message: string; readonly delayMs: number };

/** Delays and failure injection of a generation. */
export interface GenerationBehaviour {
  readonly firstTokenDelayMs: number;
  readonly tokenDelayMs: number;
  readonly failMidStream: MidStreamFailure | undefined;
  /** A pause after some chunks; absent: none. */
  readonly pauseMidStream?: MidStreamPause | undefined;
}

/** A generation's timeline. */
export interface GenerationTimeline {
  /** The steps, produced lazily (a million-token stream costs no memory up front). */
  steps(): Generator<GenerationStep, void, undefined>;
  /** Sum of all delays: how long a non-streaming request waits for its answer. */
  readonly totalDelayMs: number;
  /** The error the generation ends with, if `failMidStream` makes it fail. */
  readonly failure: string | undefined;
  /** True when it fails before the first chunk (Ollama then answers with an error status). */
  readonly failsAtStart: boolean;
}

/**
 * The timeline of `plan`: its intermediate chunks (`plan.pieces`: the first after
 * `firstTokenDelayMs`, the others after `tokenDelayMs` each), then the final chunk (right after
 * the last piece, or after `tokenDelayMs` when it carries text). With `failMidStream`, an error
 * step replaces everything after `afterChunks` pieces (no failure when `afterChunks` exceeds the
 * piece count). With `pauseMidStream`, the step after `afterChunks` pieces (a piece, the final
 * chunk or the error) waits `delayMs` longer (no pause when `afterChunks` exceeds the piece count).
 */
export function generationTimeline(
  plan: ExpectedCompletion,
  behaviour: GenerationBehaviour,
): GenerationTimeline {
  const configured = behaviour.failMidStream;
  const failing = configured !== undefined && configured.afterChunks <= plan.pieces.length;
  const failAt = failing ? configured.afterChunks : Infinity;
  const message = configured?.message ?? DEFAULT_FAILURE_MESSAGE;
  const tokenCount = Math.min(plan.pieces.length, failAt);
  const pause = behaviour.pauseMidStream;
  const pauseAt = pause !== undefined && pause.afterChunks <= tokenCount ? pause.afterChunks : -1;
  const pauseMs = (index: number): number => index === pauseAt ? pause?.delayMs ?? 0 : 0;
  const delayAt = (index: number): number =>
    (index === 0 ? behaviour.firstTokenDelayMs : behaviour.tokenDelayMs) + pauseMs(index);
  const finalDelay =
    (tokenCount === 0
      ? behaviour.firstTokenDelayMs
      : failing || plan.finalText !== ""
      ? behaviour.tokenDelayMs
      : 0) + pauseMs(tokenCount);
  const pieceDelays = tokenCount === 0
    ? 0
    : behaviour.firstTokenDelayMs + (tokenCount - 1) * behaviour.tokenDelayMs;
  const totalDelayMs = pieceDelays + (pauseAt >= 0 && pauseAt < tokenCount ? pauseMs(pauseAt) : 0) +
    finalDelay;
  return {
    *steps() {
      for (let index = 0; index < tokenCount; index++) {
        const piece = plan.pieces[index] as OutputPiece;
        yield { kind: "piece", piece, delayMs: delayAt(index) };
      }
      if (failing) yield { kind: "error", message, delayMs: finalDelay };
      else yield { kind: "done", text: plan.finalText, delayMs: finalDelay };
    },
    totalDelayMs,
    failure: failing ? message : undefined,
    failsAtStart: failing && failAt === 0,
  };
}
