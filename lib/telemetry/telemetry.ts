/**
 * OpenTelemetry for the exporter, on when Deno's own is (`OTEL_DENO=true`): Deno then registers
 * its tracer and meter providers with `@opentelemetry/api`, exports over OTLP as the standard
 * `OTEL_*` variables say, and opens a server span per incoming request. Off, this module is not
 * even loaded (`runtime_telemetry.ts`) and requests pay one check.
 *
 * @module
 */

import { metrics, trace, type Tracer } from "@opentelemetry/api";
import { VERSION } from "../build_info.ts";
import { GenAiMetrics } from "./gen_ai_metrics.ts";
import {
  RequestTelemetry,
  type TelemetryRequest,
  type TelemetryServer,
} from "./request_telemetry.ts";

/** The instrumentation scope name of the exporter's spans and metrics. */
export const SCOPE_NAME = "ollama-exporter";

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

  /**
   * Uses the global providers of `@opentelemetry/api` (whatever they are: a test may register
   * its own).
   *
   * @param ollama Ollama's base URL (`server.address`, `server.port`).
   */
  constructor(ollama: URL) {
    this.#tracer = trace.getTracer(SCOPE_NAME, VERSION);
    this.#metrics = new GenAiMetrics(metrics.getMeter(SCOPE_NAME, VERSION));
    this.#server = serverOf(ollama);
  }

  /** Starts the span of a proxied request under the active context. */
  begin(request: TelemetryRequest): RequestTelemetry {
    return new RequestTelemetry(this.#tracer, {
      metrics: this.#metrics,
      server: this.#server,
      request,
    });
  }
}
