/**
 * OpenTelemetry off (the default, `OTEL_DENO` unset, as in this test process): the exporter opens
 * no span and leaves the trace context alone — a client's `traceparent`, `tracestate` and
 * `baggage` reach Ollama byte for byte, and a request without them gets none.
 */
import assert from "node:assert/strict";
import { ExporterHarness } from "./support/exporter_harness.ts";
import { OllamaSimulator } from "./support/ollama_simulator.ts";
import { EXCHANGE_ID_HEADER, RecordingHop } from "./support/recording_hop.ts";
import { runtimeTelemetryEnabled } from "../lib/telemetry/runtime_telemetry.ts";
import { endpointOperation } from "../lib/endpoint_operation.ts";

Deno.test("OpenTelemetry off: no span, the client's trace context reaches Ollama unchanged", async () => {
  assert.equal(runtimeTelemetryEnabled(), false, "this test runs without OTEL_DENO");
  const simulator = await OllamaSimulator.start({});
  const hop = RecordingHop.start(simulator.url);
  const harness = await ExporterHarness.start({ upstream: hop.url });
  try {
    assert.equal(harness.exporter.telemetryOn, false);
    const context = {
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: "vendor=opaque,other=1",
      baggage: "tenant=blue",
    };
    for (const [id, headers] of [["with-context", context], ["without", {}]] as const) {
      const response = await fetch(`${harness.url}/api/chat`, {
        method: "POST",
        headers: { [EXCHANGE_ID_HEADER]: id, "content-type": "application/json", ...headers },
        body: JSON.stringify({
          model: "llama3.2",
          stream: false,
          messages: [{ role: "user", content: "hi" }],
        }),
        signal: AbortSignal.timeout(20_000),
      });
      assert.equal(response.status, 200, await response.text());
      const received = (await hop.exchange(id)).requestHeaders;
      for (const name of ["traceparent", "tracestate", "baggage"] as const) {
        assert.equal(
          received.get(name),
          id === "with-context" ? context[name] : null,
          `${id}: ${name}`,
        );
      }
    }
    // The log line of each request names the client's trace, when it sent one.
    const proxied = harness.logs.filter((line) => line.includes(" proxied "));
    assert.equal(proxied.length, 2, harness.logs.join("\n"));
    assert.match(proxied[0]!, / trace_id=0af7651916cd43dd8448eb211c80319c$/);
    assert.doesNotMatch(proxied[1]!, /trace_id/);
  } finally {
    await harness.close();
    await hop.close();
    await simulator.close();
  }
});

Deno.test("GenAI operations: every inference endpoint and nothing else", () => {
  const expected: Record<string, string | undefined> = {
    "/api/chat": "chat",
    "/v1/chat/completions": "chat",
    "/v1/messages": "chat",
    "/v1/responses": "chat",
    "/api/generate": "text_completion",
    "/v1/completions": "text_completion",
    "/api/embed": "embeddings",
    "/api/embeddings": "embeddings",
    "/v1/embeddings": "embeddings",
    "/api/tags": undefined,
    "/api/pull": undefined,
    "/api/show": undefined,
    "/v1/models": undefined,
    "other": undefined,
  };
  for (const [endpoint, operation] of Object.entries(expected)) {
    assert.equal(endpointOperation(endpoint), operation, endpoint);
  }
});

Deno.test("OpenTelemetry off loads no npm package: main.ts reaches @opentelemetry/api only through a dynamic import", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const graph = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const modules = new Map(graph.modules.map((module) => [module.specifier, module]));
  const loaded = new Set<string>();
  const dynamic = new Set<string>();
  const visit = (specifier: string) => {
    if (loaded.has(specifier)) return;
    loaded.add(specifier);
    for (const dependency of modules.get(specifier)?.dependencies ?? []) {
      const code = dependency.code?.specifier;
      if (code === undefined) continue; // a type-only import: erased
      if (dependency.isDynamic) dynamic.add(code);
      else visit(code);
    }
  };
  visit(graph.roots[0]!);
  const npm = [...loaded].filter((specifier) => specifier.startsWith("npm:"));
  assert.deepEqual(npm, [], "npm packages loaded at start");
  assert.ok(
    [...dynamic].some((specifier) => specifier.endsWith("/lib/telemetry/telemetry.ts")),
    "the telemetry module is imported dynamically",
  );
  assert.ok(!loaded.has(new URL("../lib/telemetry/telemetry.ts", import.meta.url).href));
});
