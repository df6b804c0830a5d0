/**
 * The OpenTelemetry side of one proxied request: a client span for the call to Ollama (a child of
 * the span `Deno.serve` opened for the incoming request, so it continues the client's
 * `traceparent`), the trace context to send upstream, and at the end the span's GenAI attributes
 * and the GenAI metrics. Nothing of the prompt or the answer is ever put on it.
 *
 * @module
 */

import {
  context,
  type Link,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import type { HeaderPairs } from "../http1/header_pairs.ts";
import type { TraceParent } from "../trace_parent.ts";
import type { GenAiAttributes, GenAiMeasurement, GenAiMetrics } from "./gen_ai_metrics.ts";
import type { InferenceOperation } from "../endpoint_operation.ts";
import { cutText } from "../cut_text.ts";

/**
 * The W3C Trace Context headers the exporter sends Ollama for its span, replacing the client's:
 * `tracestate` belongs to the `traceparent` it travels with. `baggage` is the application's and
 * passes unchanged.
 */
const TRACE_CONTEXT_HEADERS = ["traceparent", "tracestate"] as const;

/** Where requests go: Ollama's address, the `server.*` attributes. */
export interface TelemetryServer {
  /** `server.address`: Ollama's host name or IP. */
  readonly address: string;
  /** `server.port`: Ollama's port. */
  readonly port: number;
  /** Ollama's base URL with its path prefix, for `url.full`. */
  readonly base: string;
}

/** What a request is, when its span starts. */
export interface TelemetryRequest {
  /** The client's valid `traceparent`, when it sent one. */
  readonly traceParent?: TraceParent;
  /** The HTTP method. */
  readonly method: string;
  /** The URL pathname. */
  readonly path: string;
  /** `performance.now()` when the request arrived. */
  readonly start: number;
}

/** How a request ended, as the metrics recorded it. */
export interface TelemetryOutcome extends GenAiMeasurement {
  /** The bounded `model` label value (`""` when the request named none), for the metrics. */
  readonly model: string;
  /** The model the request named, normalised (`""` when none), for the span. */
  readonly requestedModel: string;
  /** The status sent to the client (499 when it left first). */
  readonly code: number;
  /** Why the request failed (the `reason` of `ollama_request_errors_total`), when it did. */
  readonly errorType?: string;
  /** Why the generation ended (the `reason` of `ollama_finished_generations_total`). */
  readonly finishReason?: string;
  /** `performance.now()` when the last byte went out. */
  readonly end: number;
}

/** The longest model name put on a span (a client chooses it). */
const MAX_MODEL_NAME = 256;

/**
 * The epoch milliseconds of `performance.now()`'s zero, read once per span so that its start,
 * first-token event and end keep their exact order and distances. That is the process's time
 * origin (sub-millisecond, on the clock Deno stamps its own spans with), moved by the wall clock's
 * drift since the process started once that is over a millisecond (`Date.now()` has whole
 * milliseconds only), so that a corrected clock does not put the exporter's spans beside their
 * parents.
 */
function clockOrigin(): number {
  const origin = performance.timeOrigin;
  const drift = Date.now() - (origin + performance.now());
  return Math.abs(drift) > 1 ? origin + drift : origin;
}

/** One request's span, started when the request is, ended exactly once. */
export class RequestTelemetry {
  #span: Span;
  #metrics: GenAiMetrics;
  #server: TelemetryServer;
  #operation: InferenceOperation | undefined;
  #onError: (error: unknown) => void;
  /** Whether the span continues the client's trace (its `tracestate` then stays valid). */
  #continues: boolean;
  #offset = clockOrigin();
  #ended = false;

  /**
   * Starts the client span under the active context (`Deno.serve`'s server span). Its `url.full`
   * has no query string (a client's may carry credentials).
   *
   * @param tracer the exporter's tracer.
   * @param options the instruments, Ollama's address, the request, what its endpoint does (when
   * it runs a model), and where errors thrown later by the OpenTelemetry API go (the methods
   * never throw).
   */
  constructor(
    tracer: Tracer,
    options: {
      metrics: GenAiMetrics;
      server: TelemetryServer;
      request: TelemetryRequest;
      operation: InferenceOperation | undefined;
      onError: (error: unknown) => void;
    },
  ) {
    this.#metrics = options.metrics;
    this.#server = options.server;
    this.#onError = options.onError;
    this.#operation = options.operation;
    const { method, path, start, traceParent: client } = options.request;
    // The parent: Deno.serve's server span, which continues the client's trace — except when the
    // client named its header other than in lower case (`Traceparent`, as Go sends it), which
    // Deno 2.9.6 does not read: the span then continues the client's trace itself and links to
    // the server span.
    let parent = context.active();
    let links: Link[] | undefined;
    const server = trace.getSpan(parent);
    if (client !== undefined && server?.spanContext().traceId !== client.traceId) {
      if (server !== undefined) links = [{ context: server.spanContext() }];
      parent = trace.setSpanContext(parent, {
        traceId: client.traceId,
        spanId: client.parentId,
        traceFlags: client.flags,
        isRemote: true,
      });
    }
    this.#span = tracer.startSpan(this.#operation ?? method, {
      kind: SpanKind.CLIENT,
      startTime: this.#offset + start,
      ...(links ? { links } : {}),
      attributes: {
        "http.request.method": method,
        "url.full": options.server.base + path,
        "server.address": options.server.address,
        "server.port": options.server.port,
        ...(this.#operation
          ? { "gen_ai.operation.name": this.#operation, "gen_ai.provider.name": "ollama" }
          : {}),
      },
    }, parent);
    this.#continues = client !== undefined &&
      this.#span.spanContext().traceId === client.traceId;
  }

  /** The trace id of the span, when it is recorded (not sampled out). */
  get traceId(): string | undefined {
    try {
      return this.#span.isRecording() ? this.#span.spanContext().traceId : undefined;
    } catch (error) {
      this.#onError(error);
      return undefined;
    }
  }

  /**
   * The trace-context headers to send to Ollama in place of the client's, so that Ollama's side,
   * if it traces, continues this span: `traceparent`, and `tracestate` — the span's own, else the
   * client's unchanged when the span continues its trace, else none (an empty value: the client's
   * is dropped rather than paired with another trace).
   */
  propagationHeaders(): HeaderPairs {
    try {
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(context.active(), this.#span), carrier);
      if (carrier.traceparent === undefined) return [];
      // The client's tracestate belongs to its trace: kept when the span continues it (and sets
      // none of its own), dropped when the span started another.
      if (carrier.tracestate === undefined && this.#continues) {
        return [["traceparent", carrier.traceparent]];
      }
      return TRACE_CONTEXT_HEADERS.map((name) => [name, carrier[name] ?? ""]);
    } catch (error) {
      this.#onError(error);
      return [];
    }
  }

  /** Adds the first-token event at `now` (`performance.now()`). */
  firstToken(now: number): void {
    try {
      this.#span.addEvent("gen_ai.first_token", this.#offset + now);
    } catch (error) {
      this.#onError(error);
    }
  }

  /**
   * Ends the span with the outcome and records the GenAI metrics of an inference request; the
   * span ends even when recording fails.
   */
  end(outcome: TelemetryOutcome): void {
    if (this.#ended) return;
    this.#ended = true;
    try {
      this.#describe(outcome);
    } catch (error) {
      this.#onError(error);
    } finally {
      try {
        this.#span.end(this.#offset + outcome.end);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  #describe(outcome: TelemetryOutcome): void {
    const span = this.#span;
    const server = this.#server;
    const operation = this.#operation;
    span.setAttribute("http.response.status_code", outcome.code);
    if (outcome.errorType !== undefined) {
      span.setAttribute("error.type", outcome.errorType);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.errorType });
    }
    if (operation !== undefined) {
      const attributes: GenAiAttributes = {
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "ollama",
        ...(outcome.model === "" ? {} : { "gen_ai.request.model": outcome.model }),
        "server.address": server.address,
        "server.port": server.port,
        ...(outcome.errorType === undefined ? {} : { "error.type": outcome.errorType }),
      };
      const requested = cutText(outcome.requestedModel, MAX_MODEL_NAME);
      if (requested !== "") {
        span.updateName(`${operation} ${requested}`);
        span.setAttribute("gen_ai.request.model", requested);
      }
      if (outcome.inputTokens !== undefined) {
        span.setAttribute("gen_ai.usage.input_tokens", outcome.inputTokens);
      }
      if (outcome.outputTokens !== undefined) {
        span.setAttribute("gen_ai.usage.output_tokens", outcome.outputTokens);
      }
      if (outcome.finishReason !== undefined) {
        span.setAttribute("gen_ai.response.finish_reasons", [outcome.finishReason]);
      }
      this.#metrics.record(outcome, attributes);
    }
  }
}
