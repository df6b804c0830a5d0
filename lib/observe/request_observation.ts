/**
 * The record of one proxied request: it counts the request in flight from the start and, exactly
 * once when the response is over, writes everything measured into the metric families and one
 * log line.
 *
 * @module
 */

import type { ExporterMetrics } from "../exporter_metrics.ts";
import type { Logger } from "../log.ts";
import type { ModelLabels } from "../model_labels.ts";
import type { GenerationStats } from "./generation_stats.ts";
import { type FinishReason, finishReason } from "./finish_reason.ts";
import type { SlotTracker } from "./slot_tracker.ts";
import { endpointOperation } from "../endpoint_operation.ts";
import { Http1TimeoutError } from "../http1/http1_timeout_error.ts";
import type { HeaderPairs } from "../http1/header_pairs.ts";
import type { TraceParent } from "../trace_parent.ts";
import type { Telemetry } from "../telemetry/telemetry.ts";
import type { RequestTelemetry } from "../telemetry/request_telemetry.ts";

/** Why a request counts as failed, the `reason` label of `ollama_request_errors_total`. */
export type ErrorReason =
  | "upstream_unreachable"
  | "upstream_error"
  | "server_busy"
  | "upstream_protocol_error"
  | "upstream_timeout"
  | "stream_error"
  | "client_disconnect"
  | "request_too_large"
  | "invalid_stats";

/** What a chunk of output is: the model thinking, or its answer (text or a tool call). */
export type OutputKind = "thinking" | "answer";

/** What a request is, as far as the metrics are concerned. */
export interface RequestInfo {
  /** The HTTP method, for the log line. */
  readonly method: string;
  /** The URL pathname, for the log line. */
  readonly path: string;
  /** The `endpoint` label. */
  readonly endpoint: string;
  /** The normalised model name (`""` when the request names none). */
  readonly model: string;
  /** The `client` label value, when per-client attribution is on. */
  readonly client?: string;
  /**
   * Whether a successful answer admits the model name as a label value. Off where success does not
   * prove the model exists (`/api/pull` answers 200 and reports failures inside its stream).
   */
  readonly admitOnSuccess?: boolean;
  /** `performance.now()` when the request arrived. */
  readonly start: number;
  /**
   * The client's valid `traceparent`: its trace id goes on the request's exemplars and log line
   * (the span's, which continues it, when OpenTelemetry is on).
   */
  readonly traceParent?: TraceParent;
}

/** The context length of each loaded model, as Ollama reports it (`GET /api/ps`). */
export interface ContextLengths {
  /**
   * The context length of the model labelled `model` in an answer to a call sent at or after
   * `since` (`performance.now()`), or `undefined` when not known.
   */
  contextLengthAt(model: string, since: number): Promise<number | undefined>;
}

/** Where a request's numbers go. */
export interface ObservationSinks {
  /** The families the request is recorded into. */
  readonly metrics: ExporterMetrics;
  /** Turns model names into bounded `model` label values, and admits them on success. */
  readonly models: ModelLabels;
  /** Where the `proxied` line is written (at INFO). */
  readonly logger: Logger;
  /** Whether the request and token counters carry a `client` label. */
  readonly clientLabel: boolean;
  /** Counts requests waiting for a slot, when Ollama's parallelism is known. */
  readonly slots?: SlotTracker;
  /** The loaded models' context lengths, for the context-usage ratio. */
  readonly contexts?: ContextLengths;
  /** OpenTelemetry spans and GenAI metrics, when Deno's OpenTelemetry is on. */
  readonly telemetry?: Telemetry;
}

/** One request's measurements, finished exactly once. */
export class RequestObservation {
  #sinks: ObservationSinks;
  #info: RequestInfo;
  #inFlightLabel: string;
  #firstOutput = -1;
  #lastOutput = -1;
  #outputChunks = 0;
  #firstAnswer = -1;
  /** The gaps between consecutive output chunks, in milliseconds. */
  #gaps: number[] = [];
  /** Whether the request takes a parallel slot (counted by the slot tracker). */
  #slot: boolean;
  #toolCalls = 0;
  #finishReason: FinishReason | undefined;
  #stats: GenerationStats | undefined;
  #statsInvalid = false;
  #reason: ErrorReason | undefined;
  #finished = false;
  #telemetry: RequestTelemetry | undefined;
  /** The trace the measurements point at: the span's, else the client's `traceparent`'s. */
  #traceId: string | undefined;
  /**
   * Whether a 2xx answer is a generation (`ollama_finished_generations_total`, context usage):
   * chat and text completion, not embeddings.
   */
  #generation: boolean;

  /**
   * Counts the request in flight, and starts its span when OpenTelemetry is on (whose trace id
   * then goes on the exemplars: the same as the client's `traceparent`'s when it sent one).
   */
  constructor(sinks: ObservationSinks, info: RequestInfo) {
    this.#sinks = sinks;
    this.#info = info;
    const operation = endpointOperation(info.endpoint);
    this.#generation = operation === "chat" || operation === "text_completion";
    if (sinks.telemetry !== undefined) {
      const telemetry = sinks.telemetry.begin(info, { operation });
      this.#telemetry = telemetry;
      this.#traceId = telemetry?.traceId;
    }
    this.#traceId ??= info.traceParent?.traceId;
    this.#inFlightLabel = sinks.models.label(info.model);
    sinks.metrics.inFlight.labels(this.#inFlightLabel, info.endpoint).inc();
    this.#slot = sinks.slots !== undefined && operation !== undefined;
    if (this.#slot) sinks.slots!.enter(this.#inFlightLabel, info.endpoint);
  }

  /** The request's description. */
  get info(): RequestInfo {
    return this.#info;
  }

  /** The trace-context headers to send to Ollama, when OpenTelemetry is on. */
  traceHeaders(): HeaderPairs | undefined {
    return this.#telemetry?.propagationHeaders();
  }

  /**
   * Sets the model once the request body has been scanned (a streamed body names it only as it
   * passes), moving the in-flight count to the new label. No-op once finished.
   */
  setModel(model: string): void {
    if (this.#finished || model === this.#info.model) return;
    this.#info = { ...this.#info, model };
    const label = this.#sinks.models.label(model);
    if (label === this.#inFlightLabel) return;
    const inFlight = this.#sinks.metrics.inFlight;
    inFlight.labels(this.#inFlightLabel, this.#info.endpoint).dec();
    inFlight.labels(label, this.#info.endpoint).inc();
    if (this.#slot) {
      this.#sinks.slots!.leave(this.#inFlightLabel);
      this.#sinks.slots!.enter(label, this.#info.endpoint);
    }
    this.#inFlightLabel = label;
  }

  /**
   * Notes a streamed chunk carrying output, at `now` (`performance.now()`): thinking, or answer
   * (text or a tool call; the default). The first of either kind is the first token; the first
   * answer chunk is also the first answer token.
   */
  output(now: number, kind: OutputKind = "answer"): void {
    if (this.#outputChunks === 0) {
      this.#firstOutput = now;
      this.#telemetry?.firstToken(now);
    } else this.#gaps.push(now - this.#lastOutput);
    if (kind === "answer" && this.#firstAnswer < 0) this.#firstAnswer = now;
    this.#lastOutput = now;
    this.#outputChunks++;
  }

  /** Adds `count` tool calls found in the answer. */
  toolCalls(count: number): void {
    this.#toolCalls += count;
  }

  /** Notes why the generation ended, as the answer says; the first reason given is kept. */
  ended(reason: FinishReason): void {
    this.#finishReason ??= reason;
  }

  /**
   * Sets the stats Ollama reported (merging with earlier ones: later fields win). Stats with an
   * `invalid` field drop every stat of the request, which then counts as `invalid_stats`.
   */
  stats(stats: GenerationStats): void {
    if (this.#statsInvalid) return;
    if (stats.invalid !== undefined) {
      this.#statsInvalid = true;
      this.#stats = undefined;
      this.fail("invalid_stats");
      return;
    }
    this.#stats = this.#stats ? { ...this.#stats, ...stats } : stats;
  }

  /**
   * Records a response body that did not reach its end: the client left (`byClient`), a time
   * limit ran out while Ollama paused, or the stream broke. `code` is the status sent.
   */
  abort(error: unknown, options: { byClient: boolean; code: number; now: number }): void {
    this.fail(options.byClient ? "client_disconnect" : bodyFailureReason(error));
    this.finish(options.code, options.now);
  }

  /** Marks the request as failed; the first reason given is kept. */
  fail(reason: ErrorReason): void {
    this.#reason ??= reason;
  }

  /**
   * Records the request: `code` is the HTTP status sent to the client (499 when the client left
   * before any status was sent), `now` the time the last byte went out.
   */
  finish(code: number, now: number = performance.now()): void {
    if (this.#finished) return;
    this.#finished = true;
    const { metrics, models, logger } = this.#sinks;
    const info = this.#info;
    const ok = code >= 200 && code < 300 && this.#reason === undefined;
    const model = ok && info.admitOnSuccess !== false
      ? models.admit(info.model)
      : models.label(info.model);
    const endpoint = info.endpoint;
    const client = this.#sinks.clientLabel ? [info.client ?? ""] : [];
    metrics.inFlight.labels(this.#inFlightLabel, endpoint).dec();
    if (this.#slot) this.#sinks.slots!.leave(this.#inFlightLabel);
    metrics.requests.labels(model, endpoint, String(code), ...client).inc();
    if (this.#reason) metrics.requestErrors.labels(model, endpoint, this.#reason, ...client).inc();
    const seconds = (now - info.start) / 1000;
    const traceId = this.#traceId;
    const exemplar = traceId === undefined ? undefined : { labels: { trace_id: traceId } };
    metrics.responseSeconds.labels(model, endpoint, ...client).observe(seconds, exemplar);
    const firstToken = this.#outputChunks > 0 ? (this.#firstOutput - info.start) / 1000 : undefined;
    if (firstToken !== undefined) {
      metrics.firstTokenSeconds.labels(model, endpoint).observe(firstToken, exemplar);
    }
    const perToken = this.#outputChunks > 1
      ? (this.#lastOutput - this.#firstOutput) / 1000 / (this.#outputChunks - 1)
      : undefined;
    if (perToken !== undefined) {
      metrics.timePerOutputToken.labels(model, endpoint).observe(perToken);
    }
    if (this.#firstAnswer >= 0) {
      metrics.firstAnswerSeconds.labels(model, endpoint).observe(
        (this.#firstAnswer - info.start) / 1000,
      );
    }
    if (this.#gaps.length > 0) {
      const gaps = metrics.interTokenLatency.labels(model, endpoint);
      for (const gap of this.#gaps) gaps.observe(gap / 1000);
    }
    if (this.#reason === "client_disconnect" && this.#outputChunks > 0) {
      metrics.discardedOutputChunks.labels(model).inc(this.#outputChunks);
    }
    if (this.#toolCalls > 0) metrics.toolCalls.labels(model, endpoint).inc(this.#toolCalls);
    const finished = this.#finishedReason(code);
    if (finished) metrics.finishedGenerations.labels(model, endpoint, finished).inc();
    const stats = this.#stats;
    if (stats) this.#recordStats(model, client, stats, now);
    this.#telemetry?.end({
      model,
      requestedModel: info.model,
      code,
      end: now,
      seconds,
      ...(firstToken === undefined ? {} : { firstTokenSeconds: firstToken }),
      ...(perToken === undefined ? {} : { timePerOutputToken: perToken }),
      ...(stats?.promptTokens === undefined ? {} : { inputTokens: stats.promptTokens }),
      ...(stats?.outputTokens === undefined ? {} : { outputTokens: stats.outputTokens }),
      ...(this.#reason === undefined ? {} : { errorType: this.#reason }),
      ...(finished === undefined ? {} : { finishReason: finished }),
    });
    if (logger.enabled("INFO")) {
      logger.info("proxied", {
        method: info.method,
        path: info.path,
        model: info.model || undefined,
        status: code,
        duration_ms: Math.round(seconds * 1e4) / 10,
        prompt_tokens: stats?.promptTokens,
        output_tokens: stats?.outputTokens,
        error: this.#reason,
        trace_id: traceId,
      });
    }
  }

  /**
   * The `reason` of a finished generation, or nothing when the request was not one: not a
   * generation endpoint, not a 2xx answer, or abandoned by its client. A stream that broke or
   * reported an error, or that ended without saying why, ended in `error`; Ollama's native API
   * says `stop` after a tool call, which counts as `tool_calls` as in its OpenAI API.
   */
  #finishedReason(code: number): FinishReason | undefined {
    if (code < 200 || code >= 300 || !this.#generation) return;
    const failure = this.#reason;
    if (failure === "client_disconnect") return;
    if (failure !== undefined && failure !== "invalid_stats") return "error";
    const said = this.#stats?.doneReason;
    const reason = this.#finishReason ?? (said === undefined ? "error" : finishReason(said));
    return reason === "stop" && this.#toolCalls > 0 ? "tool_calls" : reason;
  }

  /**
   * Records the share of the loaded context `tokens` used, against the model's context length as
   * Ollama reports it after the answer began (a request may have reloaded the model with another
   * `num_ctx`): after the first output of a stream, or the end of a whole answer, the model was
   * loaded. That may come a moment after the request ends.
   */
  #recordContext(model: string, tokens: number, now: number): void {
    const contexts = this.#sinks.contexts;
    if (contexts === undefined || model === "") return;
    const since = this.#outputChunks > 0 ? this.#firstOutput : now;
    const metrics = this.#sinks.metrics;
    void contexts.contextLengthAt(model, since).then((length) => {
      if (length === undefined || length <= 0) return;
      metrics.contextUsage.labels(model).observe(tokens / length);
      if (tokens >= length) metrics.contextLimitReached.labels(model).inc();
    });
  }

  #recordStats(model: string, client: string[], stats: GenerationStats, now: number): void {
    const metrics = this.#sinks.metrics;
    // Ollama's durations are whole nanoseconds; the duration histograms sum them in whole
    // nanoseconds too (their `sumScale`), so `_sum` is the exact total in seconds.
    const ns = 1e9;
    if (stats.totalDurationNs !== undefined) {
      metrics.totalDuration.labels(model).observe(stats.totalDurationNs / ns);
    }
    if (stats.loadDurationNs !== undefined) {
      metrics.loadDuration.labels(model).observe(stats.loadDurationNs / ns);
    }
    if (stats.promptEvalDurationNs !== undefined) {
      metrics.promptEvalDuration.labels(model).observe(stats.promptEvalDurationNs / ns);
    }
    if (stats.evalDurationNs !== undefined) {
      metrics.evalDuration.labels(model).observe(stats.evalDurationNs / ns);
    }
    if (stats.doneReason === "load" || stats.doneReason === "unload") {
      metrics.loadRequests.labels(model, stats.doneReason).inc();
    }
    if (
      stats.totalDurationNs !== undefined && stats.promptEvalDurationNs !== undefined &&
      stats.evalDurationNs !== undefined
    ) {
      // A generation's own parts; what is left of the total is time the request waited.
      const work = (stats.loadDurationNs ?? 0) + stats.promptEvalDurationNs + stats.evalDurationNs;
      metrics.queueWait.labels(model).observe(Math.max(0, stats.totalDurationNs - work) / ns);
    }
    if (stats.promptTokens !== undefined && this.#generation) {
      this.#recordContext(model, stats.promptTokens + (stats.outputTokens ?? 0), now);
    }
    if (stats.promptTokens !== undefined) {
      metrics.tokensProcessed.labels(model, ...client).inc(stats.promptTokens);
    }
    if (stats.outputTokens !== undefined) {
      metrics.tokensGenerated.labels(model, ...client).inc(stats.outputTokens);
    }
    // Speeds in one division of integers: 9 tokens in 9 ms is 1000, not 1000.0000000000001.
    if (stats.outputTokens && stats.evalDurationNs) {
      metrics.tokensPerSecond.labels(model).observe(
        stats.outputTokens * ns / stats.evalDurationNs,
      );
    }
    if (stats.promptTokens && stats.promptEvalDurationNs) {
      metrics.promptTokensPerSecond.labels(model).observe(
        stats.promptTokens * ns / stats.promptEvalDurationNs,
      );
    }
  }
}

/** Why reading Ollama's body failed: a pause over the idle limit, or a broken stream. */
export function bodyFailureReason(error: unknown): "upstream_timeout" | "stream_error" {
  return error instanceof Http1TimeoutError ? "upstream_timeout" : "stream_error";
}
