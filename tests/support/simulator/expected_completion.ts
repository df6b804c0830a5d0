/**
 * What the simulator will answer to a generation, computed without a server, so tests can assert
 * exact token texts, counts and durations.
 *
 * @module
 */

import { type CountedMessage, countPromptTokens } from "./prompt_tokens.ts";
import { responseTokens } from "./response_tokens.ts";
import { resolveTimings, type Timings } from "./timings.ts";

/** Natural answer length in tokens when `num_predict` is not given. */
export const DEFAULT_RESPONSE_TOKENS = 8;

/** Knobs that change the computed answer; the simulator passes its own configuration here. */
export interface ExpectedCompletionOptions {
  /** `options.num_predict` (native) or `max_tokens` (OpenAI). Absent or negative: natural length. */
  readonly numPredict?: number;
  /** `system` of /api/generate; counted like the prompt. */
  readonly system?: string;
  /** Natural answer length (simulator option `responseTokens`), default 8. */
  readonly responseTokens?: number;
  /** Duration constants (simulator option `timings`). */
  readonly timings?: Partial<Timings>;
  /** Simulator option `lastTokenInFinalChunk`: the done chunk carries the last token's text. */
  readonly lastTokenInFinalChunk?: boolean;
}

/** The numbers a final `done:true` chunk carries, under their wire names. */
export interface CompletionMetrics {
  readonly total_duration: number;
  readonly load_duration: number;
  readonly prompt_eval_count: number;
  readonly prompt_eval_duration: number;
  readonly eval_count: number;
  readonly eval_duration: number;
}

/** The exact answer the simulator gives to one generation. */
export interface ExpectedCompletion {
  /** The model name as the request gave it (Ollama echoes it). */
  readonly model: string;
  /** Text of every generated token in order (`eval_count` entries). */
  readonly tokens: readonly string[];
  /** Texts of the intermediate `done:false` chunks, one per chunk. */
  readonly chunks: readonly string[];
  /** Text carried by the final `done:true` chunk ("" unless `lastTokenInFinalChunk`). */
  readonly finalText: string;
  /** The whole answer, `tokens.join("")`. */
  readonly text: string;
  /** `stop` when the natural length was reached, `length` when `numPredict` cut it. */
  readonly doneReason: "stop" | "length";
  /** Final-chunk numbers; a zero value is omitted on the wire. */
  readonly metrics: CompletionMetrics;
  /** What the OpenAI-compatible endpoints report as usage. */
  readonly usage: {
    readonly prompt_tokens: number;
    readonly completion_tokens: number;
    readonly total_tokens: number;
  };
}

/**
 * Computes the answer to a generation of `model` for `input` (a /api/generate or /v1/completions
 * prompt, or /api/chat or /v1/chat/completions messages).
 *
 * - `eval_count` = `numPredict` when it is given and non-negative (`doneReason` `length`), else
 *   `responseTokens` (default 8, `doneReason` `stop`); tokens cycle through a fixed text.
 * - `prompt_eval_count` = {@link countPromptTokens}.
 * - `load_duration` = `loadNs`; `prompt_eval_duration` = `prompt_eval_count * promptNsPerToken`;
 *   `eval_duration` = `eval_count * evalNsPerToken`; `total_duration` = their sum + `overheadNs`.
 */
export function expectedCompletion(
  model: string,
  input: string | readonly CountedMessage[],
  options: ExpectedCompletionOptions = {},
): ExpectedCompletion {
  const timings = resolveTimings(options.timings);
  const natural = options.responseTokens ?? DEFAULT_RESPONSE_TOKENS;
  const limited = options.numPredict !== undefined && options.numPredict >= 0;
  const evalCount = limited ? Math.floor(options.numPredict ?? 0) : natural;
  const tokens = responseTokens(evalCount);
  const promptEvalCount = countPromptTokens(
    input,
    options.system === undefined ? {} : { system: options.system },
  );
  const carryLast = options.lastTokenInFinalChunk === true && tokens.length > 0;
  const chunks = carryLast ? tokens.slice(0, -1) : tokens;
  const promptEvalDuration = promptEvalCount * timings.promptNsPerToken;
  const evalDuration = evalCount * timings.evalNsPerToken;
  return {
    model,
    tokens,
    chunks,
    finalText: carryLast ? tokens[tokens.length - 1] ?? "" : "",
    text: tokens.join(""),
    doneReason: limited ? "length" : "stop",
    metrics: {
      total_duration: timings.loadNs + promptEvalDuration + evalDuration + timings.overheadNs,
      load_duration: timings.loadNs,
      prompt_eval_count: promptEvalCount,
      prompt_eval_duration: promptEvalDuration,
      eval_count: evalCount,
      eval_duration: evalDuration,
    },
    usage: {
      prompt_tokens: promptEvalCount,
      completion_tokens: evalCount,
      total_tokens: promptEvalCount + evalCount,
    },
  };
}
