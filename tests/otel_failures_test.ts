/**
 * OpenTelemetry on failure paths (issue #15), with the simulator for the faults: the exporter runs
 * as its own process with `OTEL_DENO=true`, its spans go to a local OTLP listener (decoded with the
 * official `.proto` files). A client that leaves mid-stream and Ollama unreachable each end the span
 * as `/metrics` records the request.
 */
import assert from "node:assert/strict";
import { ExporterProcess, freePort } from "./support/exporter_process.ts";
import { parseExposition, sample } from "./support/exposition.ts";
import { OllamaSimulator } from "./support/ollama_simulator.ts";
import { type DecodedSpan, OTEL_PROTO_ABSENT, OtlpSpanKind } from "./support/otlp_proto.ts";
import { OtlpTraceListener } from "./support/otlp_trace_listener.ts";

if (OTEL_PROTO_ABSENT !== null) console.log(OTEL_PROTO_ABSENT);

const PERMISSIONS = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
).tasks.start.replace(/^deno run /, "").replace(/ main\.ts$/, "").split(" ");

/** Runs `body` with a listener and an exporter exporting spans to it, in front of `upstream`. */
async function withOtelExporter(
  upstream: string,
  body: (exporter: ExporterProcess, listener: OtlpTraceListener) => Promise<void>,
): Promise<void> {
  const listener = await OtlpTraceListener.start();
  let exporter: ExporterProcess | undefined;
  try {
    exporter = await ExporterProcess.start(["run", ...PERMISSIONS, "main.ts"], {
      env: {
        OLLAMA_HOST: upstream,
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: listener.url,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_METRIC_EXPORT_INTERVAL: "60000",
        HEALTH_INTERVAL_SECONDS: "60",
      },
    });
    await body(exporter, listener);
  } finally {
    if (exporter) {
      exporter.kill("SIGTERM");
      await exporter.exit();
    }
    await listener.close();
  }
}

const ours = (spans: readonly DecodedSpan[]) =>
  spans.filter((span) => span.scope.name === "ollama-exporter");

const ignore = OTEL_PROTO_ABSENT !== null && Deno.env.get("CI") !== "true";

Deno.test({
  name: "OpenTelemetry: a client that leaves mid-stream ends the span with client_disconnect",
  ignore,
}, async () => {
  const simulator = await OllamaSimulator.start({
    pauseMidStream: { afterChunks: 2, delayMs: 2000 },
  });
  try {
    await withOtelExporter(simulator.url, async (exporter, listener) => {
      const response = await fetch(`${exporter.url}/api/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "llama3.2", prompt: "x" }),
      });
      const reader = response.body!.getReader();
      let lines = 0;
      while (lines < 2) {
        const { value } = await reader.read();
        lines += value!.filter((byte) => byte === 10).length;
      }
      await reader.cancel();
      const [span] = await listener.waitFor((spans) => ours(spans).length === 1, {
        timeoutMs: 10_000,
      }).then(ours);
      assert.equal(span!.name, "text_completion llama3.2:latest");
      assert.equal(span!.kind, OtlpSpanKind.CLIENT);
      assert.equal(span!.attributes["error.type"], "client_disconnect");
      assert.equal(span!.status.code, 2);
      assert.deepEqual(span!.events.map((event) => event.name), ["gen_ai.first_token"]);
      assert.equal(span!.attributes["gen_ai.usage.output_tokens"], undefined);
      const metrics = parseExposition(await (await fetch(`${exporter.url}/metrics`)).text());
      assert.equal(
        sample(metrics, "ollama_request_errors_total", {
          model: "llama3.2:latest",
          endpoint: "/api/generate",
          reason: "client_disconnect",
        }),
        1,
      );
    });
  } finally {
    await simulator.close();
  }
});

Deno.test({
  name: "OpenTelemetry: Ollama unreachable ends the span with upstream_unreachable and a 502",
  ignore,
}, async () => {
  await withOtelExporter(`http://127.0.0.1:${freePort()}`, async (exporter, listener) => {
    const traceId = "5bd66ef5095369c7b0d1f8f4bd33716a";
    const response = await fetch(`${exporter.url}/api/chat`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        traceparent: `00-${traceId}-c532cb4098ac3dd2-01`,
      },
      body: JSON.stringify({ model: "llama3.2", messages: [{ role: "user", content: "x" }] }),
    });
    assert.equal(response.status, 502);
    await response.body?.cancel();
    const [span] = await listener.waitFor((spans) => ours(spans).length === 1, {
      timeoutMs: 10_000,
    }).then(ours);
    assert.equal(span!.traceId, traceId);
    assert.equal(span!.name, "chat llama3.2:latest");
    assert.equal(span!.attributes["error.type"], "upstream_unreachable");
    assert.equal(span!.attributes["http.response.status_code"], 502);
    assert.equal(span!.status.code, 2);
    assert.equal(span!.events.length, 0);
  });
});
