/**
 * Whether Deno's built-in OpenTelemetry is on, and the exporter's telemetry loaded only then.
 * Importing an npm package costs the process Deno's Node compatibility layer (about 6 MiB at idle
 * and 13 MiB more while a 60 MB body passes, measured with `bench:load --phases large`), so
 * `@opentelemetry/api` is imported dynamically, and only when there is something to export.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { errorDetail } from "../error_detail.ts";
import type { Telemetry } from "./telemetry.ts";

/**
 * The key under which `@opentelemetry/api` 1.x keeps its global providers; Deno fills it at start
 * when `OTEL_DENO=true`, before any module runs.
 */
const API_GLOBAL = Symbol.for("opentelemetry.js.api.1");

/** Whether Deno registered its OpenTelemetry providers (it does when `OTEL_DENO=true`). */
export function runtimeTelemetryEnabled(): boolean {
  const registered = (globalThis as Record<symbol, { trace?: unknown } | undefined>)[API_GLOBAL];
  return registered !== undefined && registered.trace === Deno.telemetry.tracerProvider;
}

/**
 * The exporter's spans and GenAI metrics for requests to Ollama at `ollama`, when Deno's
 * OpenTelemetry is on; `undefined` (and nothing loaded) when it is off. When the support cannot be
 * loaded or set up (e.g. `@opentelemetry/api` not cached and no registry to fetch it from), the
 * exporter runs without it: proxying matters more than its telemetry. `logger` says so, as an
 * error naming the cause.
 */
export async function runtimeTelemetry(
  ollama: URL,
  options: { logger?: Logger } = {},
): Promise<Telemetry | undefined> {
  if (!runtimeTelemetryEnabled()) return undefined;
  try {
    const { Telemetry } = await import("./telemetry.ts");
    return new Telemetry(ollama, options);
  } catch (error) {
    options.logger?.error(
      "Cannot set up the OpenTelemetry support that OTEL_DENO=true asks for; running without it",
      { error: errorDetail(error) },
    );
    return undefined;
  }
}
