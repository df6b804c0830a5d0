/**
 * Configuration of the Ollama simulator and its defaults.
 *
 * @module
 */

import { DEFAULT_RESPONSE_TOKENS } from "./expected_completion.ts";
import type { LoadedModelSpec } from "./loaded_models.ts";
import { resolveTimings, type Timings } from "./timings.ts";

/**
 * How each response body is cut into writes: `line` writes every NDJSON line / SSE event group
 * whole (what Ollama flushes at once; without delays several lines may still share one read);
 * `byte` writes every byte on its own, so multi-byte characters arrive cut; `random` cuts at
 * seeded random points (1 to 32 bytes per write, crossing line boundaries when nothing delays the
 * next line). Writes are one I/O turn apart (`splitDelayMs` 0): a chunked body then reaches an
 * in-process `fetch` reader as one read per write; a Content-Length body (small non-streamed
 * answers) has no chunk frames, so use `splitDelayMs: 1` to keep its reads apart.
 */
export type SplitMode = "line" | "byte" | "random";

/** A mid-stream failure: status 200, `afterChunks` token chunks, then an error line. */
export interface MidStreamFailure {
  /** Token chunks sent before the error; 0 means the error comes before any byte (status 500). */
  readonly afterChunks: number;
  /** Error text; default {@link DEFAULT_FAILURE_MESSAGE}. */
  readonly message?: string;
}

/** Error text of a mid-stream failure when none is configured. */
export const DEFAULT_FAILURE_MESSAGE =
  "an error was encountered while running the model: unexpected EOF";

/** Options of {@link OllamaSimulator.start} and {@link OllamaSimulator.configure}. */
export interface SimulatorOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. Only used at start. */
  port?: number;
  /** What /api/version reports; default `0.33.0`. */
  version?: string;
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
  /** Pause between the writes of a `byte`/`random` split: 0 (default) = one I/O turn. */
  splitDelayMs?: number;
  /** Make every generation fail mid-stream (`true` = after 1 chunk, default message). */
  failMidStream?: boolean | MidStreamFailure;
  /** 403 with an empty body for a Host that is not loopback, private or localhost (default true). */
  rejectForeignHost?: boolean;
  /** 403 for an `Origin` that Ollama's CORS policy does not allow (default true). */
  rejectForeignOrigin?: boolean;
  /** Extra allowed origins, like `OLLAMA_ORIGINS` (`*` wildcards allowed). */
  allowedOrigins?: readonly string[];
  /** Benchmark mode: no delays, `line` split, requests counted but not recorded. */
  fast?: boolean;
  /** Natural answer length in tokens when `num_predict` is absent (default 8). */
  responseTokens?: number;
  /** The final `done:true` chunk carries the last token's text instead of "" (default false). */
  lastTokenInFinalChunk?: boolean;
  /** Overrides every model's embedding length (to produce huge embedding bodies). */
  embedDimensions?: number;
  /** Constants of the duration formula (see `timings.ts`). */
  timings?: Partial<Timings>;
  /** Names /api/pull can fetch; `any` (default) = every name. */
  registry?: readonly string[] | "any";
  /** Clock, ms since the epoch (fractions kept as nanoseconds in `created_at`). */
  now?: () => number;
}

/** {@link SimulatorOptions} with every default applied. */
export interface ResolvedOptions {
  readonly port: number;
  readonly version: string;
  readonly models: readonly string[];
  readonly loaded: readonly LoadedModelSpec[] | "auto";
  readonly tokenDelayMs: number;
  readonly firstTokenDelayMs: number;
  readonly pullIntervalMs: number;
  readonly split: SplitMode;
  readonly seed: number;
  readonly splitDelayMs: number;
  readonly failMidStream: MidStreamFailure | undefined;
  readonly rejectForeignHost: boolean;
  readonly rejectForeignOrigin: boolean;
  readonly allowedOrigins: readonly string[];
  readonly fast: boolean;
  readonly responseTokens: number;
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

/** Version reported when none is configured. */
export const DEFAULT_VERSION = "0.33.0";

const DEFAULTS: ResolvedOptions = Object.freeze({
  port: 0,
  version: DEFAULT_VERSION,
  models: DEFAULT_MODELS,
  loaded: "auto",
  tokenDelayMs: 0,
  firstTokenDelayMs: 0,
  pullIntervalMs: 0,
  split: "line",
  seed: 1,
  splitDelayMs: 0,
  failMidStream: undefined,
  rejectForeignHost: true,
  rejectForeignOrigin: true,
  allowedOrigins: [],
  fast: false,
  responseTokens: DEFAULT_RESPONSE_TOKENS,
  lastTokenInFinalChunk: false,
  embedDimensions: undefined,
  timings: resolveTimings(),
  registry: "any",
  now: () => performance.timeOrigin + performance.now(),
});

/** Applies `patch` on top of `base` (the defaults when absent), validating numbers. */
export function resolveOptions(
  patch: Partial<SimulatorOptions>,
  base: ResolvedOptions = DEFAULTS,
): ResolvedOptions {
  const { failMidStream, timings, ...rest } = patch;
  const merged: ResolvedOptions = {
    ...base,
    ...rest,
    failMidStream: failMidStream === undefined ? base.failMidStream : failure(failMidStream),
    timings: timings === undefined ? base.timings : resolveTimings({ ...base.timings, ...timings }),
  };
  for (
    const key of [
      "tokenDelayMs",
      "firstTokenDelayMs",
      "pullIntervalMs",
      "splitDelayMs",
      "responseTokens",
    ] as const
  ) {
    const value = merged[key];
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`Cannot use ${key}=${value}: it must be a non-negative number`);
    }
  }
  if (merged.embedDimensions !== undefined && !(merged.embedDimensions >= 1)) {
    throw new RangeError(
      `Cannot use embedDimensions=${merged.embedDimensions}: a vector needs at least 1 component`,
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
