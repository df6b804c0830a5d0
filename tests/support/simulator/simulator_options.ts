/**
 * Configuration of the Ollama simulator and its defaults.
 *
 * @module
 */

import { DEFAULT_RESPONSE_TOKENS, DEFAULT_THINKING_TOKENS } from "./expected_completion.ts";
import type { LoadedModelSpec } from "./loaded_models.ts";
import type { OpenAiStreamFormat } from "./openai_stream_format.ts";
import { resolveTimings, type Timings } from "./timings.ts";

/**
 * How each response body is cut into writes: `line` writes what Ollama flushes at once, each
 * write its own HTTP chunk: one NDJSON line, one SSE event of `/v1/messages` and `/v1/responses`,
 * the frames one native line becomes on `/v1/chat/completions` and `/v1/completions` (the last
 * group holds the finish chunk, the usage chunk and `data: [DONE]`); `byte` writes every byte on its own, so multi-byte characters arrive cut; `random` cuts at
 * seeded random points (1 to 32 bytes per write, crossing line boundaries when nothing delays the
 * next line). Writes are one I/O turn apart (`splitDelayMs` 0): a chunked body then reaches an
 * in-process `fetch` reader as one read per write; a Content-Length body (small non-streamed
 * answers) has no chunk frames, so use `splitDelayMs: 1` to keep its reads apart.
 */
export type SplitMode = "line" | "byte" | "random";

/**
 * A mid-stream failure (the runner dies): status 200, `afterChunks` output chunks, then what each
 * API family shows of the error. Native: a `{"error":"..."}` line. `/v1/chat/completions` and
 * `/v1/completions`: one last ordinary chunk made from that line (`"model":""`, empty content or
 * text, `finish_reason:null`), no error object and no `data: [DONE]`. `/v1/messages` and
 * `/v1/responses`: the stream just ends (Ollama's converters turn the error line into no event).
 * Non-streaming requests answer a 500 in the family's error shape instead.
 */
export interface MidStreamFailure {
  /** Output chunks sent before the error; 0 means the error comes before any byte (status 500). */
  readonly afterChunks: number;
  /** Error text; default {@link DEFAULT_FAILURE_MESSAGE}. */
  readonly message?: string;
}

/**
 * A pause in the middle of a stream: after `afterChunks` output chunks, the next step (chunk,
 * final chunk or error) waits `delayMs` more, on top of `tokenDelayMs`. Tests use it to hold a
 * stream at a known point (a client that leaves then has seen exactly `afterChunks` chunks).
 */
export interface MidStreamPause {
  /** Output chunks written before the pause (0: the pause comes before the first one). */
  readonly afterChunks: number;
  /** Length of the pause, ms. */
  readonly delayMs: number;
}

/** Error text of a mid-stream failure when none is configured. */
export const DEFAULT_FAILURE_MESSAGE =
  "an error was encountered while running the model: unexpected EOF";

/** Options of {@link OllamaSimulator.start} and {@link OllamaSimulator.configure}. */
export interface SimulatorOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. Only used at start. */
  port?: number;
  /**
   * What /api/version reports; default `0.33.0`. Below `0.32.6` the OpenAI chat stream takes the
   * older shape unless `openAiStreamFormat` says otherwise.
   */
  version?: string;
  /**
   * Shape of `/v1/chat/completions` streams: `0.24` (role in every delta, `finish_reason` on the
   * last content delta, `created` read per chunk) or `0.32.6` (role in the first delta only,
   * `finish_reason` in its own chunk with `delta:{}`, one `created`). Default: from `version`.
   */
  openAiStreamFormat?: OpenAiStreamFormat;
  /** Installed models; default llama3.2:latest, qwen2.5:0.5b, nomic-embed-text:latest. */
  models?: readonly string[];
  /** Fixed /api/ps answer, or `auto` (default): models used recently, per `keep_alive`. */
  loaded?: readonly LoadedModelSpec[] | "auto";
  /** Delay before each token chunk after the first, ms (default 0). */
  tokenDelayMs?: number;
  /** Delay before the first chunk, and so before the response headers, ms (default 0). */
  firstTokenDelayMs?: number;
  /** Delay between /api/pull and /api/push progress lines, ms (default 0). */
  pullIntervalMs?: number;
  /** How response bodies are cut into writes (default `line`). */
  split?: SplitMode;
  /** Seed of the `random` split (default 1). Each response replays the same cut pattern. */
  seed?: number;
  /** Pause between two writes of a streamed body: 0 (default) = one I/O turn. */
  splitDelayMs?: number;
  /** Make every generation fail mid-stream (`true` = after 1 chunk, default message). */
  failMidStream?: boolean | MidStreamFailure;
  /**
   * Hold every generation stream back once, after some chunks (see {@link MidStreamPause});
   * `false` turns it off again.
   */
  pauseMidStream?: MidStreamPause | false;
  /**
   * Like `OLLAMA_NUM_PARALLEL`: requests a loaded model serves at once (generations and
   * embeddings; an embedding-only model gets 1, as Ollama loads those with parallel 1). Others
   * wait for a slot in arrival order, before their headers; the wait counts in
   * `total_duration` only. Default `Infinity` (no limit; Ollama's own default is 1).
   */
  numParallel?: number;
  /**
   * Like `OLLAMA_MAX_QUEUE` (default 512): requests that may wait in Ollama's scheduler queue,
   * which only requests for a model that is not loaded, or loaded with another `num_ctx`, enter
   * (requests for a loaded model wait for a slot without limit). One more: 503
   * `{"error":"server busy, please try again.  maximum pending requests exceeded"}` in the
   * family's error shape.
   */
  maxQueue?: number;
  /**
   * How long loading a model takes, ms (default 0): the scheduler serves no other request that
   * needs a load meanwhile, so they queue (and overflow `maxQueue`). A request's time in the
   * scheduler (queue, load, a reload waiting for the model's requests to end) counts in both
   * `load_duration` and `total_duration`.
   */
  loadDelayMs?: number;
  /** 403 with an empty body for a Host that is not loopback, private or localhost (default true). */
  rejectForeignHost?: boolean;
  /** 403 for an `Origin` that Ollama's CORS policy does not allow (default true). */
  rejectForeignOrigin?: boolean;
  /** Extra allowed origins, like `OLLAMA_ORIGINS` (`*` wildcards allowed). */
  allowedOrigins?: readonly string[];
  /** Benchmark mode: no delays, `line` split, requests counted but not recorded. */
  fast?: boolean;
  /**
   * Answer length in text tokens when nothing limits it (default 8); the end token that stops the
   * answer counts in `eval_count` too but has no chunk (as with Ollama).
   */
  responseTokens?: number;
  /** Thinking tokens a thinking model emits before its answer (default 5). */
  thinkingTokens?: number;
  /**
   * A generation stops at its natural length even when `num_predict` / `max_tokens` allows more
   * (default false: a limit is always reached, like real random-weights models, which almost
   * never emit an end token).
   */
  stopsNaturally?: boolean;
  /** The final `done:true` chunk carries the last token's text instead of "" (default false). */
  lastTokenInFinalChunk?: boolean;
  /** Overrides every model's embedding length (to produce huge embedding bodies). */
  embedDimensions?: number;
  /** Constants of the duration formula (see `timings.ts`). */
  timings?: Partial<Timings>;
  /**
   * Names /api/pull can fetch (an entry without a tag allows every tag of that name), or `any`.
   * Default {@link DEFAULT_REGISTRY}. Any other name fails like a name Ollama's registry does not
   * know: streamed, 200 then an `{"error"}` line; with `stream:false`, a 500.
   */
  registry?: readonly string[] | "any";
  /** Clock, ms since the epoch (fractions kept as nanoseconds in `created_at`). */
  now?: () => number;
}

/** {@link SimulatorOptions} with every default applied. */
export interface ResolvedOptions {
  readonly port: number;
  readonly version: string;
  readonly openAiStreamFormat: OpenAiStreamFormat | undefined;
  readonly models: readonly string[];
  readonly loaded: readonly LoadedModelSpec[] | "auto";
  readonly tokenDelayMs: number;
  readonly firstTokenDelayMs: number;
  readonly pullIntervalMs: number;
  readonly split: SplitMode;
  readonly seed: number;
  readonly splitDelayMs: number;
  readonly failMidStream: MidStreamFailure | undefined;
  readonly pauseMidStream: MidStreamPause | undefined;
  readonly numParallel: number;
  readonly maxQueue: number;
  readonly loadDelayMs: number;
  readonly rejectForeignHost: boolean;
  readonly rejectForeignOrigin: boolean;
  readonly allowedOrigins: readonly string[];
  readonly fast: boolean;
  readonly responseTokens: number;
  readonly thinkingTokens: number;
  readonly stopsNaturally: boolean;
  readonly lastTokenInFinalChunk: boolean;
  readonly embedDimensions: number | undefined;
  readonly timings: Timings;
  readonly registry: readonly string[] | "any";
  readonly now: () => number;
}

/** Installed models when none are configured. */
export const DEFAULT_MODELS: readonly string[] = Object.freeze([
  "llama3.2:latest",
  "qwen2.5:0.5b",
  "nomic-embed-text:latest",
]);

/** Ollama's default `OLLAMA_MAX_QUEUE`. */
export const DEFAULT_MAX_QUEUE = 512;

/** Version reported when none is configured. */
export const DEFAULT_VERSION = "0.33.0";

/** Names /api/pull can fetch when no `registry` is configured (every tag of each). */
export const DEFAULT_REGISTRY: readonly string[] = Object.freeze([
  "llama3.2",
  "llama3.1",
  "llama3",
  "qwen2.5",
  "qwen3",
  "phi3",
  "phi4",
  "mistral",
  "gemma2",
  "gemma3",
  "tinyllama",
  "deepseek-r1",
  "nomic-embed-text",
  "mxbai-embed-large",
  "all-minilm",
]);

const DEFAULTS: ResolvedOptions = Object.freeze({
  port: 0,
  version: DEFAULT_VERSION,
  openAiStreamFormat: undefined,
  models: DEFAULT_MODELS,
  loaded: "auto",
  tokenDelayMs: 0,
  firstTokenDelayMs: 0,
  pullIntervalMs: 0,
  split: "line",
  seed: 1,
  splitDelayMs: 0,
  failMidStream: undefined,
  pauseMidStream: undefined,
  numParallel: Infinity,
  maxQueue: DEFAULT_MAX_QUEUE,
  loadDelayMs: 0,
  rejectForeignHost: true,
  rejectForeignOrigin: true,
  allowedOrigins: [],
  fast: false,
  responseTokens: DEFAULT_RESPONSE_TOKENS,
  thinkingTokens: DEFAULT_THINKING_TOKENS,
  stopsNaturally: false,
  lastTokenInFinalChunk: false,
  embedDimensions: undefined,
  timings: resolveTimings(),
  registry: DEFAULT_REGISTRY,
  now: () => performance.timeOrigin + performance.now(),
});

/** Applies `patch` on top of `base` (the defaults when absent), validating numbers. */
export function resolveOptions(
  patch: Partial<SimulatorOptions>,
  base: ResolvedOptions = DEFAULTS,
): ResolvedOptions {
  const { failMidStream, pauseMidStream, timings, ...rest } = patch;
  const merged: ResolvedOptions = {
    ...base,
    ...rest,
    failMidStream: failMidStream === undefined ? base.failMidStream : failure(failMidStream),
    pauseMidStream: pauseMidStream === undefined ? base.pauseMidStream : pause(pauseMidStream),
    timings: timings === undefined ? base.timings : resolveTimings({ ...base.timings, ...timings }),
  };
  for (
    const key of [
      "tokenDelayMs",
      "firstTokenDelayMs",
      "pullIntervalMs",
      "splitDelayMs",
      "responseTokens",
      "thinkingTokens",
      "loadDelayMs",
    ] as const
  ) {
    const value = merged[key];
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`Cannot use ${key}=${value}: it must be a non-negative number`);
    }
  }
  if (
    !(merged.numParallel === Infinity ||
      (Number.isSafeInteger(merged.numParallel) && merged.numParallel >= 1))
  ) {
    throw new RangeError(
      `Cannot use numParallel=${merged.numParallel}: it must be an integer >= 1 or Infinity`,
    );
  }
  if (!Number.isSafeInteger(merged.maxQueue) || merged.maxQueue < 0) {
    throw new RangeError(`Cannot use maxQueue=${merged.maxQueue}: it must be an integer >= 0`);
  }
  if (merged.embedDimensions !== undefined && !(merged.embedDimensions >= 1)) {
    throw new RangeError(
      `Cannot use embedDimensions=${merged.embedDimensions}: a vector needs at least 1 component`,
    );
  }
  if (
    merged.openAiStreamFormat !== undefined &&
    !["0.24", "0.32.6"].includes(merged.openAiStreamFormat)
  ) {
    throw new RangeError(
      `Cannot use openAiStreamFormat="${merged.openAiStreamFormat}": expected 0.24 or 0.32.6`,
    );
  }
  if (!["line", "byte", "random"].includes(merged.split)) {
    throw new RangeError(`Cannot use split="${merged.split}": expected line, byte or random`);
  }
  return merged;
}

function failure(value: boolean | MidStreamFailure): MidStreamFailure | undefined {
  if (value === false) return undefined;
  if (value === true) return { afterChunks: 1 };
  if (!Number.isInteger(value.afterChunks) || value.afterChunks < 0) {
    throw new RangeError(
      `Cannot use failMidStream.afterChunks=${value.afterChunks}: it must be an integer >= 0`,
    );
  }
  return value;
}

function pause(value: MidStreamPause | false): MidStreamPause | undefined {
  if (value === false) return undefined;
  if (!Number.isInteger(value.afterChunks) || value.afterChunks < 0) {
    throw new RangeError(
      `Cannot use pauseMidStream.afterChunks=${value.afterChunks}: it must be an integer >= 0`,
    );
  }
  if (!Number.isFinite(value.delayMs) || value.delayMs < 0) {
    throw new RangeError(
      `Cannot use pauseMidStream.delayMs=${value.delayMs}: it must be a non-negative number`,
    );
  }
  return value;
}
