/**
 * OpenTelemetry on failure paths (issue #15), with the simulator for the faults: the exporter runs
 * as its own process with `OTEL_DENO=true`, its spans go to a local OTLP listener (decoded with the
 * official `.proto` files). A client that leaves mid-stream, Ollama unreachable and a body over the
 * limit each end the span as `/metrics` records the request; the trace context sent to Ollama
 * replaces the client's `traceparent` and `tracestate` only (its `baggage` passes byte for byte);
 * the exporter's spans carry no query string, while Ollama gets the query unchanged.
 */
import assert from "node:assert/strict";
import { ExporterProcess, freePort, START_FLAGS } from "./support/exporter_process.ts";
import { parseExposition, sample } from "./support/exposition.ts";
import { OllamaSimulator } from "./support/ollama_simulator.ts";
import { type DecodedSpan, OTEL_PROTO_ABSENT, OtlpSpanKind } from "./support/otlp_proto.ts";
import { OtlpTraceListener } from "./support/otlp_trace_listener.ts";
import { EXCHANGE_ID_HEADER, RecordingHop } from "./support/recording_hop.ts";
import { rawRequest } from "./support/raw_http.ts";

if (OTEL_PROTO_ABSENT !== null) console.log(OTEL_PROTO_ABSENT);

/** Runs `body` with a listener and an exporter exporting spans to it, in front of `upstream`. */
async function withOtelExporter(
  upstream: string,
  body: (exporter: ExporterProcess, listener: OtlpTraceListener) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const listener = await OtlpTraceListener.start();
  let exporter: ExporterProcess | undefined;
  try {
    exporter = await ExporterProcess.start(["run", ...START_FLAGS, "main.ts"], {
      env: {
        OLLAMA_HOST: upstream,
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: listener.url,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_METRIC_EXPORT_INTERVAL: "60000",
        HEALTH_INTERVAL_SECONDS: "60",
        SHUTDOWN_GRACE_SECONDS: "2",
        ...env,
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

/** Every call of the tests ends within this time, or fails. */
const DEADLINE_MS = 20_000;

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
        signal: AbortSignal.timeout(DEADLINE_MS),
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
      const metrics = parseExposition(
        await (await fetch(`${exporter.url}/metrics`, { signal: AbortSignal.timeout(DEADLINE_MS) }))
          .text(),
      );
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
      signal: AbortSignal.timeout(DEADLINE_MS),
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
    // The request's log line names the trace.
    exporter.kill("SIGTERM");
    const { stderr } = await exporter.exit();
    assert.match(stderr, new RegExp(`proxied .* error=upstream_unreachable trace_id=${traceId}`));
  });
});

Deno.test({
  name:
    "OpenTelemetry: Ollama gets the span's traceparent, the client's baggage as sent, and the query",
  ignore,
}, async () => {
  const simulator = await OllamaSimulator.start({});
  const hop = RecordingHop.start(simulator.url);
  try {
    await withOtelExporter(hop.url, async (exporter, listener) => {
      const baggage = `k1=v1;prop=1,encoded=a%3Db,big=${"x".repeat(4200)}`;
      const cases = [
        {
          id: "continued",
          traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
          tracestate: "vendor=opaque",
        },
        { id: "invalid", traceparent: "00-not-a-trace-01", tracestate: "orphan=1" },
      ];
      for (const { id, traceparent, tracestate } of cases) {
        const response = await fetch(`${exporter.url}/api/chat?token=QUERYSECRET2&beta=true`, {
          method: "POST",
          headers: {
            [EXCHANGE_ID_HEADER]: id,
            "content-type": "application/json",
            traceparent,
            tracestate,
            baggage,
          },
          body: JSON.stringify({
            model: "llama3.2",
            stream: false,
            messages: [{ role: "user", content: "x" }],
          }),
          signal: AbortSignal.timeout(DEADLINE_MS),
        });
        assert.equal(response.status, 200, await response.text());
      }
      const spans = await listener.waitFor((all) => ours(all).length === 2, {
        timeoutMs: DEADLINE_MS,
      });
      for (const { id, traceparent, tracestate } of cases) {
        const exchange = await hop.exchange(id);
        assert.equal(exchange.target, "/api/chat?token=QUERYSECRET2&beta=true", id);
        assert.equal(exchange.requestHeaders.get("baggage"), baggage, `${id}: baggage unchanged`);
        const sent = exchange.requestHeaders.get("traceparent")!;
        const span = ours(spans).find((s) => sent === `00-${s.traceId}-${s.spanId}-01`);
        assert.ok(span, `${id}: Ollama's traceparent ${sent} is the exporter's span`);
        const server = spans.find((s) => s.spanId === span.parentSpanId)!;
        assert.equal(server.kind, OtlpSpanKind.SERVER);
        if (id === "continued") {
          assert.equal(span.traceId, traceparent.split("-")[1]);
          // The span continues the client's trace: its tracestate goes along unchanged.
          assert.equal(exchange.requestHeaders.get("tracestate"), tracestate, id);
        } else {
          // A new trace: the orphaned tracestate is not passed on with it.
          assert.equal(exchange.requestHeaders.get("tracestate"), null, id);
        }
        // The exporter's span lies inside its parent, on the same clock.
        assert.ok(span.startTimeUnixNano >= server.startTimeUnixNano, `${id}: starts before`);
        assert.ok(span.endTimeUnixNano <= server.endTimeUnixNano, `${id}: ends after`);
        assert.equal(span.attributes["url.full"], `${hop.url}/api/chat`);
      }
      // The exporter's spans carry no query; Deno's server span records the URL as it came
      // (url.full, url.query: its own attributes, which user code cannot replace).
      for (const span of ours(spans)) {
        const text = JSON.stringify(span, (_k, v) => typeof v === "bigint" ? String(v) : v);
        assert.ok(!text.includes("QUERYSECRET2"), `${span.name}: the query reached the span`);
      }
    });
  } finally {
    await hop.close();
    await simulator.close();
  }
});

Deno.test({
  name: "OpenTelemetry: a body over MAX_REQUEST_BYTES ends the span with request_too_large",
  ignore,
}, async () => {
  const simulator = await OllamaSimulator.start({});
  try {
    await withOtelExporter(simulator.url, async (exporter, listener) => {
      const response = await fetch(`${exporter.url}/api/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "llama3.2", prompt: "y".repeat(4096) }),
        signal: AbortSignal.timeout(DEADLINE_MS),
      });
      assert.equal(response.status, 413);
      await response.body?.cancel();
      const [span] = await listener.waitFor((spans) => ours(spans).length === 1, {
        timeoutMs: DEADLINE_MS,
      }).then(ours);
      assert.equal(span!.attributes["error.type"], "request_too_large");
      assert.equal(span!.attributes["http.response.status_code"], 413);
      assert.equal(span!.status.code, 2);
    }, { MAX_REQUEST_BYTES: "1024" });
  } finally {
    await simulator.close();
  }
});

Deno.test({
  name: "OpenTelemetry: a client's `Traceparent` in any letter case is continued",
  ignore,
}, async () => {
  const simulator = await OllamaSimulator.start({});
  const hop = RecordingHop.start(simulator.url);
  try {
    await withOtelExporter(hop.url, async (exporter, listener) => {
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const parentId = "00f067aa0ba902b7";
      const body = JSON.stringify({
        model: "llama3.2",
        stream: false,
        messages: [{ role: "user", content: "x" }],
      });
      // As Go's net/http writes them: canonical case, which fetch cannot send.
      const response = await rawRequest(Number(new URL(exporter.url).port), "/api/chat", {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Traceparent: `00-${traceId}-${parentId}-01`,
          Tracestate: "congo=t61rcWkgMzE",
          [EXCHANGE_ID_HEADER]: "go-client",
        },
        body,
        timeoutMs: DEADLINE_MS,
      });
      assert.equal(response.status, 200);
      const [span] = await listener.waitFor((spans) => ours(spans).length === 1, {
        timeoutMs: DEADLINE_MS,
      }).then(ours);
      assert.equal(span!.traceId, traceId, "the client's trace is continued");
      const exchange = await hop.exchange("go-client");
      assert.equal(
        exchange.requestHeaders.get("traceparent"),
        `00-${traceId}-${span!.spanId}-01`,
      );
      assert.equal(exchange.requestHeaders.get("tracestate"), "congo=t61rcWkgMzE");
      // Its parent is the client's span, or Deno's server span when Deno read the header.
      const spans = listener.spans();
      const server = spans.find((s) => s.kind === OtlpSpanKind.SERVER && s.name === "POST")!;
      if (server.traceId === traceId) assert.equal(span!.parentSpanId, server.spanId);
      else {
        assert.equal(span!.parentSpanId, parentId);
        assert.deepEqual(span!.links.map((link) => link.spanId), [server.spanId]);
      }
      const metrics = await (await fetch(`${exporter.url}/metrics`, {
        headers: { accept: "application/openmetrics-text; version=1.0.0" },
        signal: AbortSignal.timeout(DEADLINE_MS),
      })).text();
      assert.match(metrics, new RegExp(`# \\{trace_id="${traceId}"\\}`));
    });
  } finally {
    await hop.close();
    await simulator.close();
  }
});
