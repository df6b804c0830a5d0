/**
 * OpenTelemetry for the exporter, on when Deno's own is (`OTEL_DENO=true`): Deno then registers
 * its tracer and meter providers with `@opentelemetry/api`, exports over OTLP as the standard
 * `OTEL_*` variables say, and opens a server span per incoming request. Off, this module is not
 * even loaded (`runtime_telemetry.ts`) and requests only find the telemetry absent.
 *
 * Telemetry never breaks proxying: an error thrown by the OpenTelemetry API is caught, logged once
 * as a warning, and the request goes on as if it were off.
 *
 * @module
 */

import { metrics, trace, type Tracer } from "@opentelemetry/api";
import { VERSION } from "../build_info.ts";
import type { Logger } from "../log.ts";
import { errorDetail } from "../error_detail.ts";
import { GenAiMetrics } from "./gen_ai_metrics.ts";
import type { InferenceOperation } from "../endpoint_operation.ts";
import {
  RequestTelemetry,
  type TelemetryRequest,
  type TelemetryServer,
} from "./request_telemetry.ts";

/** The instrumentation scope name of the exporter's spans and metrics. */
const SCOPE_NAME = "ollama-exporter";

/** `server.address` and `server.port` of an Ollama URL. */
function serverOf(ollama: URL): TelemetryServer {
  const port = ollama.port === "" ? (ollama.protocol === "https:" ? 443 : 80) : Number(ollama.port);
  const address = ollama.hostname.replace(/^\[(.*)\]$/, "$1");
  return { address, port, base: ollama.origin + ollama.pathname.replace(/\/+$/, "") };
}

/** The exporter's tracer and GenAI instruments. */
export class Telemetry {
  #tracer: Tracer;
  #metrics: GenAiMetrics;
  #server: TelemetryServer;
  #logger: Logger | undefined;
  #warned = false;

  /**
   * Uses the global providers of `@opentelemetry/api` (Deno's, when it registered them).
   *
   * @param ollama Ollama's base URL (`server.address`, `server.port`).
   * @param options `logger` gets one warning the first time the OpenTelemetry API throws.
   */
  constructor(ollama: URL, options: { logger?: Logger } = {}) {
    this.#tracer = trace.getTracer(SCOPE_NAME, VERSION);
    this.#metrics = new GenAiMetrics(metrics.getMeter(SCOPE_NAME, VERSION));
    this.#server = serverOf(ollama);
    this.#logger = options.logger;
  }

  /**
   * Starts the span of a proxied request under the active context, or returns `undefined` when
   * the OpenTelemetry API fails (the request then goes without). `operation` is what its
   * endpoint does, when it runs a model.
   */
  begin(
    request: TelemetryRequest,
    options: { operation: InferenceOperation | undefined },
  ): RequestTelemetry | undefined {
    try {
      return new RequestTelemetry(this.#tracer, {
        metrics: this.#metrics,
        server: this.#server,
        request,
        operation: options.operation,
        onError: (error) => this.#failed(error),
      });
    } catch (error) {
      this.#failed(error);
      return undefined;
    }
  }

  #failed(error: unknown): void {
    if (this.#warned) return;
    this.#warned = true;
    try {
      this.#logger?.warn(
        "OpenTelemetry failed for a request; it is proxied and counted on /metrics without it " +
          "(reported once)",
        { error: errorDetail(error) },
      );
    } catch {
      // Whatever was thrown cannot even be described: the request goes on all the same.
    }
  }
}
