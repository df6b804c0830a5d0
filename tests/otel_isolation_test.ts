/**
 * An OpenTelemetry API that throws never fails a request (issue #15): with a tracer provider, a
 * meter provider and a propagator whose calls throw registered as the global ones, requests through the exporter
 * get Ollama's answers byte for byte, `/metrics` counts them, and one warning is logged.
 */
import assert from "node:assert/strict";
import { metrics, propagation, trace } from "@opentelemetry/api";
import type {
  Meter,
  MeterProvider,
  Span,
  TextMapPropagator,
  Tracer,
  TracerProvider,
} from "@opentelemetry/api";
import { withHarness } from "./support/exporter_harness.ts";
import { Telemetry } from "../lib/telemetry/telemetry.ts";

/** A value whose every property access is a function that throws. */
function throwing<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: (_target, name) => () => {
      throw new Error(`${what}.${String(name)} failed on purpose`);
    },
  });
}

/** A span that starts, and then fails at every call. */
const failingSpan = throwing<Span>("span");
/** `where` decides what throws: starting a span, or everything after it. */
function providers(where: "start" | "later"): { tracer: TracerProvider } {
  const tracer = {
    startSpan: () => {
      if (where === "start") throw new Error("startSpan failed on purpose");
      return failingSpan;
    },
    startActiveSpan: () => {
      throw new Error("unused");
    },
  } as unknown as Tracer;
  return { tracer: { getTracer: () => tracer } };
}

for (const where of ["start", "later"] as const) {
  Deno.test(`OpenTelemetry that throws (${where}) fails no request and warns once`, async () => {
    const { tracer } = providers(where);
    // Instruments are created at start-up (a failure there leaves the exporter without
    // telemetry: runtime_telemetry.ts); recording into them fails here.
    const meterProvider: MeterProvider = {
      getMeter: () => ({ createHistogram: () => throwing("histogram") } as unknown as Meter),
    };
    assert.ok(trace.setGlobalTracerProvider(tracer));
    assert.ok(metrics.setGlobalMeterProvider(meterProvider));
    assert.ok(propagation.setGlobalPropagator(throwing<TextMapPropagator>("propagator")));
    try {
      await withHarness({
        telemetry: (logger) => new Telemetry(new URL("http://127.0.0.1:11434"), { logger }),
      }, async (harness) => {
        for (
          const [path, body] of [
            ["/api/chat", { model: "llama3.2", messages: [{ role: "user", content: "hi" }] }],
            ["/api/generate", { model: "llama3.2", prompt: "hi", stream: false }],
            ["/v1/chat/completions", {
              model: "llama3.2",
              stream: true,
              messages: [{ role: "user", content: "hi" }],
            }],
          ] as const
        ) {
          const init = {
            method: "POST",
            headers: {
              "content-type": "application/json",
              traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(20_000),
          };
          const proxied = await fetch(harness.url + path, init);
          const direct = await fetch(harness.simulator.url + path, init);
          assert.equal(proxied.status, 200, path);
          const [got, want] = [await proxied.text(), await direct.text()];
          if (path !== "/v1/chat/completions") assert.equal(got, want, path);
          else assert.ok(got.endsWith("data: [DONE]\n\n"), path);
        }
        await harness.settle();
        const samples = await harness.scrape();
        const count = (endpoint: string) =>
          harness.valueIn(samples, "ollama_requests_total", {
            model: "llama3.2:latest",
            endpoint,
            code: "200",
          });
        assert.equal(count("/api/chat"), 1);
        assert.equal(count("/api/generate"), 1);
        assert.equal(count("/v1/chat/completions"), 1);
        const warnings = harness.logs.filter((line) => line.includes("OpenTelemetry failed"));
        assert.equal(warnings.length, 1, harness.logs.join("\n"));
      });
    } finally {
      trace.disable();
      metrics.disable();
      propagation.disable();
    }
  });
}
