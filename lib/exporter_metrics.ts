/**
 * The exporter's own metric families: names, help texts, labels and buckets, in one place.
 *
 * Bucket choice. Latencies of LLM work run from tens of milliseconds (a cached short answer, an
 * embedding) to minutes (a long generation on a CPU, a cold load of a large model). The
 * OpenTelemetry GenAI semantic conventions advise doubling buckets from 10 ms
 * (`gen_ai.client.operation.duration`: 0.01 … 81.92 s); we extend that series two more steps to
 * 327.68 s so that multi-minute requests still land in a finite bucket. Time to first token and
 * time per output token follow the finer boundaries vLLM and the same conventions use for those
 * (1 ms … 10 s and 10 ms … 2.5 s), with a few larger ones for CPU-bound servers. Generation speeds
 * span 1 to 1000+ tokens/s (a CPU with a 70B model to a GPU with a 1B model), so those buckets are
 * roughly logarithmic from 1 to 2000; prompt processing is an order of magnitude faster, so its
 * buckets reach 10000.
 *
 * @module
 */

import { Counter } from "./metrics/counter.ts";
import { Gauge } from "./metrics/gauge.ts";
import { Histogram } from "./metrics/histogram.ts";
import type { Registry } from "./metrics/registry.ts";
import { GEN_AI_BUCKETS } from "./gen_ai_buckets.ts";

/**
 * The `sumScale` of the `_seconds` histograms: their sums are kept in whole nanoseconds, exact for
 * Ollama's durations (integer nanoseconds) and free of floating-point noise for the proxy's own.
 */
export const NANOSECONDS = 1e9;

/** Request latency buckets in seconds: OpenTelemetry's doubling series from 10 ms, to ~5.5 min. */
export const LATENCY_BUCKETS: readonly number[] = [...GEN_AI_BUCKETS.duration, 163.84, 327.68];

/** Time-to-first-token buckets in seconds (vLLM / OpenTelemetry GenAI boundaries, extended). */
export const FIRST_TOKEN_BUCKETS: readonly number[] = [...GEN_AI_BUCKETS.firstToken, 30, 60];

/**
 * Time-per-output-token buckets in seconds (vLLM / OpenTelemetry GenAI boundaries, with three
 * below 10 ms for fast GPUs).
 */
export const TOKEN_INTERVAL_BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  ...GEN_AI_BUCKETS.perOutputToken,
];

/**
 * Queue-wait buckets in seconds. Unqueued requests show Ollama's own bookkeeping (well under a
 * millisecond to a few ms); a request behind others waits for whole generations, from tenths of a
 * second on a GPU to minutes on a CPU or a long queue, so the series runs from 1 ms to 5 min.
 */
export const QUEUE_WAIT_BUCKETS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
];

/**
 * Context-usage buckets, a share of the loaded context length: coarse below a half, where nothing
 * is at risk, and fine near 1, where prompts start being truncated.
 */
export const CONTEXT_USAGE_BUCKETS: readonly number[] = [
  0.1,
  0.25,
  0.5,
  0.75,
  0.9,
  0.95,
  0.99,
  1,
];

/** Generation speed buckets in tokens per second. */
export const GENERATION_SPEED_BUCKETS: readonly number[] = [
  1,
  2,
  5,
  10,
  15,
  20,
  30,
  40,
  50,
  75,
  100,
  150,
  200,
  300,
  500,
  1000,
  2000,
];

/** Prompt processing speed buckets in tokens per second. */
export const PROMPT_SPEED_BUCKETS: readonly number[] = [
  10,
  25,
  50,
  100,
  250,
  500,
  1000,
  1500,
  2000,
  3000,
  5000,
  7500,
  10000,
  20000,
];

/** The families the proxy records into. */
export interface ExporterMetrics {
  /** `ollama_requests_total` {model, endpoint, code[, client]}: proxied requests, on completion. */
  readonly requests: Counter;
  /** `ollama_request_errors_total` {model, endpoint, reason}: failed proxied requests. */
  readonly requestErrors: Counter;
  /** `ollama_requests_in_flight` {model, endpoint}: requests being proxied now. */
  readonly inFlight: Gauge;
  /** `ollama_response_seconds` {model, endpoint}: from request to last byte sent, in seconds. */
  readonly responseSeconds: Histogram;
  /**
   * `ollama_time_to_first_token_seconds` {model, endpoint}: streaming request received to first
   * output chunk, in seconds.
   */
  readonly firstTokenSeconds: Histogram;
  /**
   * `ollama_time_per_output_token_seconds` {model, endpoint}: mean gap between output chunks of
   * one stream, in seconds.
   */
  readonly timePerOutputToken: Histogram;
  /**
   * `ollama_time_to_first_answer_seconds` {model, endpoint}: streaming request received to the
   * first chunk carrying answer output (text or a tool call, not thinking), in seconds.
   */
  readonly firstAnswerSeconds: Histogram;
  /**
   * `ollama_inter_token_latency_seconds` {model, endpoint}: every gap between consecutive output
   * chunks of a stream, in seconds.
   */
  readonly interTokenLatency: Histogram;
  /**
   * `ollama_queue_wait_seconds` {model}: Ollama's `total_duration` less its load, prompt and
   * generation durations (clamped at 0): time it held the request, mostly waiting for a slot.
   */
  readonly queueWait: Histogram;
  /**
   * `ollama_requests_waiting` {model}: requests in flight beyond Ollama's parallelism; registered
   * only when `OLLAMA_NUM_PARALLEL` is given to the exporter.
   */
  readonly requestsWaiting: Gauge | undefined;
  /**
   * `ollama_context_usage_ratio` {model}: prompt and output tokens of a request over the loaded
   * model's context length.
   */
  readonly contextUsage: Histogram;
  /** `ollama_context_limit_reached_total` {model}: requests that filled the context. */
  readonly contextLimitReached: Counter;
  /**
   * `ollama_discarded_output_chunks_total` {model}: output chunks streamed to clients that left
   * before the end (an estimate of discarded tokens).
   */
  readonly discardedOutputChunks: Counter;
  /** `ollama_tool_calls_total` {model, endpoint}: tool calls in Ollama's answers. */
  readonly toolCalls: Counter;
  /**
   * `ollama_finished_generations_total` {model, endpoint, reason}: generations that reached their
   * end, by normalised finish reason.
   */
  readonly finishedGenerations: Counter;
  /** `ollama_total_duration_seconds` {model}: Ollama's `total_duration`, in seconds. */
  readonly totalDuration: Histogram;
  /** `ollama_load_duration_seconds` {model}: Ollama's `load_duration` (model load), in seconds. */
  readonly loadDuration: Histogram;
  /** `ollama_prompt_eval_duration_seconds` {model}: Ollama's `prompt_eval_duration`, in seconds. */
  readonly promptEvalDuration: Histogram;
  /** `ollama_eval_duration_seconds` {model}: Ollama's `eval_duration` (generation), in seconds. */
  readonly evalDuration: Histogram;
  /** `ollama_tokens_processed_total` {model[, client]}: prompt tokens processed. */
  readonly tokensProcessed: Counter;
  /** `ollama_tokens_generated_total` {model[, client]}: output tokens generated. */
  readonly tokensGenerated: Counter;
  /** `ollama_tokens_per_second` {model}: generation speed, `eval_count / eval_duration`. */
  readonly tokensPerSecond: Histogram;
  /**
   * `ollama_prompt_tokens_per_second` {model}: prompt speed,
   * `prompt_eval_count / prompt_eval_duration`.
   */
  readonly promptTokensPerSecond: Histogram;
  /** `ollama_up`: 1 when the last `GET /api/version` check succeeded, else 0. */
  readonly up: Gauge;
  /** `ollama_model_load_requests_total` {model, action}: requests that only (un)loaded a model. */
  readonly loadRequests: Counter;
  /** `ollama_unauthorized_requests_total` {endpoint}: 401s for lack of a valid API key. */
  readonly unauthorized: Counter;
}

/**
 * Creates and registers the exporter's request and token families.
 *
 * @param registry where the families are registered.
 * @param options `clientLabel` adds a `client` label to the request and token counters.
 */
export function registerExporterMetrics(
  registry: Registry,
  options: { clientLabel?: boolean; waitingGauge?: boolean } = {},
): ExporterMetrics {
  const client = options.clientLabel ? ["client"] : [];
  return {
    requests: registry.register(
      new Counter({
        name: "ollama_requests_total",
        help: "Requests proxied to Ollama, counted on completion; code is the status sent.",
        labelNames: ["model", "endpoint", "code", ...client],
      }),
    ),
    requestErrors: registry.register(
      new Counter({
        name: "ollama_request_errors_total",
        help:
          "Failed proxied requests by reason: upstream_unreachable, upstream_error, server_busy, upstream_protocol_error, upstream_timeout, stream_error, client_disconnect, request_too_large, invalid_stats.",
        labelNames: ["model", "endpoint", "reason", ...client],
      }),
    ),
    inFlight: registry.register(
      new Gauge({
        name: "ollama_requests_in_flight",
        help: "Requests being proxied to Ollama right now.",
        labelNames: ["model", "endpoint"],
      }),
    ),
    responseSeconds: registry.register(
      new Histogram({
        name: "ollama_response_seconds",
        help: "Time from receiving the request to sending the last byte, measured by the proxy.",
        labelNames: ["model", "endpoint", ...client],
        buckets: LATENCY_BUCKETS,
        sumScale: NANOSECONDS,
      }),
    ),
    firstTokenSeconds: registry.register(
      new Histogram({
        name: "ollama_time_to_first_token_seconds",
        help:
          "Time from receiving a streaming request to the first chunk carrying output of any kind (thinking, text or a tool call).",
        labelNames: ["model", "endpoint"],
        buckets: FIRST_TOKEN_BUCKETS,
        sumScale: NANOSECONDS,
      }),
    ),
    timePerOutputToken: registry.register(
      new Histogram({
        name: "ollama_time_per_output_token_seconds",
        help:
          "Mean interval between output chunks of one stream (first to last chunk / intervals), measured by the proxy.",
        labelNames: ["model", "endpoint"],
        buckets: TOKEN_INTERVAL_BUCKETS,
        sumScale: NANOSECONDS,
      }),
    ),
    firstAnswerSeconds: registry.register(
      new Histogram({
        name: "ollama_time_to_first_answer_seconds",
        help:
          "Time from receiving a streaming request to the first chunk carrying answer output (text or a tool call; thinking excluded).",
        labelNames: ["model", "endpoint"],
        buckets: FIRST_TOKEN_BUCKETS,
        sumScale: NANOSECONDS,
      }),
    ),
    interTokenLatency: registry.register(
      new Histogram({
        name: "ollama_inter_token_latency_seconds",
        help:
          "Every gap between consecutive output chunks of a stream, measured by the proxy: stalls the per-stream mean hides.",
        labelNames: ["model", "endpoint"],
        buckets: TOKEN_INTERVAL_BUCKETS,
        sumScale: NANOSECONDS,
      }),
    ),
    queueWait: registry.register(
      new Histogram({
        name: "ollama_queue_wait_seconds",
        help:
          "Ollama's total_duration less load, prompt_eval and eval durations (native API, at least 0): time Ollama held the request before and around the work, mostly waiting for a parallel slot.",
        labelNames: ["model"],
        buckets: QUEUE_WAIT_BUCKETS,
        sumScale: NANOSECONDS,
      }),
    ),
    requestsWaiting: options.waitingGauge
      ? registry.register(
        new Gauge({
          name: "ollama_requests_waiting",
          help:
            "Requests in flight beyond Ollama's parallelism (OLLAMA_NUM_PARALLEL given to the exporter): an estimate of requests waiting for a slot.",
          labelNames: ["model"],
        }),
      )
      : undefined,
    contextUsage: registry.register(
      new Histogram({
        name: "ollama_context_usage_ratio",
        help:
          "Prompt plus output tokens of a request over the context length of the loaded model (GET /api/ps).",
        labelNames: ["model"],
        buckets: CONTEXT_USAGE_BUCKETS,
      }),
    ),
    contextLimitReached: registry.register(
      new Counter({
        name: "ollama_context_limit_reached_total",
        help:
          "Requests whose prompt plus output tokens reached the loaded context length: Ollama truncated the prompt or shifted the context.",
        labelNames: ["model"],
      }),
    ),
    discardedOutputChunks: registry.register(
      new Counter({
        name: "ollama_discarded_output_chunks_total",
        help:
          "Output chunks streamed to clients that left before the end: an estimate of generated tokens nobody read.",
        labelNames: ["model"],
      }),
    ),
    toolCalls: registry.register(
      new Counter({
        name: "ollama_tool_calls_total",
        help: "Tool calls in Ollama's answers, on every API family, streamed or not.",
        labelNames: ["model", "endpoint"],
      }),
    ),
    finishedGenerations: registry.register(
      new Counter({
        name: "ollama_finished_generations_total",
        help:
          "Generations answered with 2xx that reached their end, by normalised reason: stop, length, tool_calls, load, unload, error, other.",
        labelNames: ["model", "endpoint", "reason"],
      }),
    ),
    totalDuration: registry.register(
      new Histogram({
        name: "ollama_total_duration_seconds",
        help: "Ollama's total_duration: time Ollama spent on the request.",
        labelNames: ["model"],
        buckets: LATENCY_BUCKETS,
        sumScale: NANOSECONDS,
      }),
    ),
    loadDuration: registry.register(
      new Histogram({
        name: "ollama_load_duration_seconds",
        help: "Ollama's load_duration: time spent loading the model.",
        labelNames: ["model"],
        buckets: LATENCY_BUCKETS,
        sumScale: NANOSECONDS,
      }),
    ),
    promptEvalDuration: registry.register(
      new Histogram({
        name: "ollama_prompt_eval_duration_seconds",
        help: "Ollama's prompt_eval_duration: time spent evaluating the prompt.",
        labelNames: ["model"],
        buckets: LATENCY_BUCKETS,
        sumScale: NANOSECONDS,
      }),
    ),
    evalDuration: registry.register(
      new Histogram({
        name: "ollama_eval_duration_seconds",
        help: "Ollama's eval_duration: time spent generating the response.",
        labelNames: ["model"],
        buckets: LATENCY_BUCKETS,
        sumScale: NANOSECONDS,
      }),
    ),
    tokensProcessed: registry.register(
      new Counter({
        name: "ollama_tokens_processed_total",
        help: "Prompt tokens processed (Ollama's prompt_eval_count, OpenAI's prompt_tokens).",
        labelNames: ["model", ...client],
      }),
    ),
    tokensGenerated: registry.register(
      new Counter({
        name: "ollama_tokens_generated_total",
        help: "Tokens generated (Ollama's eval_count, OpenAI's completion_tokens).",
        labelNames: ["model", ...client],
      }),
    ),
    tokensPerSecond: registry.register(
      new Histogram({
        name: "ollama_tokens_per_second",
        help: "Generation speed per request: eval_count / eval_duration.",
        labelNames: ["model"],
        buckets: GENERATION_SPEED_BUCKETS,
      }),
    ),
    promptTokensPerSecond: registry.register(
      new Histogram({
        name: "ollama_prompt_tokens_per_second",
        help: "Prompt processing speed per request: prompt_eval_count / prompt_eval_duration.",
        labelNames: ["model"],
        buckets: PROMPT_SPEED_BUCKETS,
      }),
    ),
    up: registry.register(
      new Gauge({
        name: "ollama_up",
        help: "1 when the last check of Ollama (GET /api/version) succeeded, else 0.",
      }),
    ),
    loadRequests: registry.register(
      new Counter({
        name: "ollama_model_load_requests_total",
        help:
          "Requests that only loaded or unloaded a model (empty prompt; done_reason load or unload).",
        labelNames: ["model", "action"],
      }),
    ),
    unauthorized: registry.register(
      new Counter({
        name: "ollama_unauthorized_requests_total",
        help: "Requests refused with 401 because they carried no valid API key.",
        labelNames: ["endpoint"],
      }),
    ),
  };
}
