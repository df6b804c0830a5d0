/**
 * OpenTelemetry with a REAL Ollama (issue #15): the exporter runs as its own process with
 * `OTEL_DENO=true`, in front of a recording hop in front of `../shared/real-ollama`. Every API
 * family is driven once; then
 * - the GenAI metrics read back from a real OTLP receiver (VictoriaMetrics, `../shared/
 *   otlp-receiver`) equal, per operation, model and token type, what Ollama sent (read from the
 *   recorded bytes) and what `/metrics` shows;
 * - the spans, decoded from OTLP protobuf with the official `.proto` files, have the GenAI names and
 *   attributes, are children of `Deno.serve`'s server span, continue the client's `traceparent`,
 *   are what Ollama received as `traceparent`, carry the trace id the `/metrics` exemplars carry,
 *   and hold no prompt or answer text.
 *
 * Skipped with one line when the real Ollama, the receiver or the `.proto` files are absent
 * (CI installs the `.proto` files; `.ci/run`).
 */
import assert from "node:assert/strict";
import { ExporterProcess, START_FLAGS } from "./support/exporter_process.ts";
import { parseExposition, sumOf } from "./support/exposition.ts";
import { REAL_OLLAMA_ABSENT, type RealOllama, startRealOllama } from "./support/real_ollama.ts";
import { EXCHANGE_ID_HEADER, RecordingHop } from "./support/recording_hop.ts";
import { readWire, type WireFacts } from "./support/wire_reference.ts";
import { OTLP_RECEIVER_ABSENT, OtlpReceiver } from "./support/otlp_receiver.ts";
import { OtlpTraceListener } from "./support/otlp_trace_listener.ts";
import { type DecodedSpan, OTEL_PROTO_ABSENT, OtlpSpanKind } from "./support/otlp_proto.ts";

const ABSENT = REAL_OLLAMA_ABSENT ?? OTLP_RECEIVER_ABSENT ?? OTEL_PROTO_ABSENT;
if (ABSENT !== null) console.log(ABSENT);

/** A marker in every prompt: it must reach no span, event, metric or log. */
const SECRET = "zebra-canary-7781";

/** One request of the scenario. */
interface Call {
  readonly id: string;
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: Record<string, unknown>;
  /** The GenAI operation, or `undefined` for a request that is not inference. */
  readonly operation?: "chat" | "text_completion" | "embeddings";
  /** The `model` label the request is counted under. */
  readonly model?: string;
  /** A `traceparent` the client sends: its trace id must be the span's. */
  readonly traceparent?: string;
}

const CALLS: readonly Call[] = [
  {
    id: "native-chat-stream",
    method: "POST",
    path: "/api/chat",
    operation: "chat",
    model: "tiny:latest",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    body: {
      model: "tiny",
      messages: [{ role: "user", content: `Say ${SECRET}` }],
      options: { num_predict: 16 },
    },
  },
  {
    id: "native-generate",
    method: "POST",
    path: "/api/generate",
    operation: "text_completion",
    model: "tiny:latest",
    body: { model: "tiny", prompt: `Say ${SECRET}`, stream: false, options: { num_predict: 16 } },
  },
  {
    id: "openai-chat-stream",
    method: "POST",
    path: "/v1/chat/completions",
    operation: "chat",
    model: "tiny:latest",
    traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    body: {
      model: "tiny",
      stream: true,
      max_tokens: 16,
      messages: [{ role: "user", content: `Say ${SECRET}` }],
    },
  },
  {
    id: "openai-completions",
    method: "POST",
    path: "/v1/completions",
    operation: "text_completion",
    model: "tiny:latest",
    body: { model: "tiny", prompt: `Say ${SECRET}`, max_tokens: 16 },
  },
  {
    id: "messages-stream",
    method: "POST",
    path: "/v1/messages",
    operation: "chat",
    model: "tiny:latest",
    body: {
      model: "tiny",
      stream: true,
      max_tokens: 16,
      messages: [{ role: "user", content: `Say ${SECRET}` }],
    },
  },
  {
    id: "responses-stream",
    method: "POST",
    path: "/v1/responses",
    operation: "chat",
    model: "tiny:latest",
    body: { model: "tiny", stream: true, max_output_tokens: 16, input: `Say ${SECRET}` },
  },
  {
    id: "native-embed",
    method: "POST",
    path: "/api/embed",
    operation: "embeddings",
    model: "tiny-embed:latest",
    body: { model: "tiny-embed", input: [`${SECRET} one`, `${SECRET} two`] },
  },
  {
    id: "openai-embeddings",
    method: "POST",
    path: "/v1/embeddings",
    operation: "embeddings",
    model: "tiny-embed:latest",
    body: { model: "tiny-embed", input: `${SECRET} three` },
  },
  {
    id: "unknown-model",
    method: "POST",
    path: "/api/chat",
    operation: "chat",
    body: {
      model: "no-such-model-e7f3",
      messages: [{ role: "user", content: SECRET }],
      options: { num_predict: 3 },
    },
  },
  { id: "tags", method: "GET", path: "/api/tags" },
];

/** The endpoints of each GenAI operation (the exporter's mapping, restated). */
const ENDPOINTS: Record<string, readonly string[]> = {
  chat: ["/api/chat", "/v1/chat/completions", "/v1/messages", "/v1/responses"],
  text_completion: ["/api/generate", "/v1/completions"],
  embeddings: ["/api/embed", "/api/embeddings", "/v1/embeddings"],
};

/** The exemplar trace ids on `/metrics` (OpenMetrics) of `ollama_response_seconds` per endpoint. */
function exemplarTraceIds(text: string, name: string): Set<string> {
  const ids = new Set<string>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const match = / # \{trace_id="([0-9a-f]{32})"\}/.exec(line);
    if (match) ids.add(match[1]!);
  }
  return ids;
}

Deno.test({
  name:
    "OpenTelemetry with a real Ollama: GenAI metrics equal the wire and /metrics; spans continue the trace and carry no text",
  ignore: ABSENT !== null && Deno.env.get("CI") !== "true",
}, async () => {
  let ollama: RealOllama | undefined;
  let hop: RecordingHop | undefined;
  let receiver: OtlpReceiver | undefined;
  let listener: OtlpTraceListener | undefined;
  let exporter: ExporterProcess | undefined;
  try {
    ollama = await startRealOllama();
    hop = RecordingHop.start(ollama.url);
    receiver = await OtlpReceiver.start();
    listener = await OtlpTraceListener.start();
    exporter = await ExporterProcess.start(["run", ...START_FLAGS, "main.ts"], {
      env: {
        OLLAMA_HOST: hop.url,
        LOG_LEVEL: "INFO",
        OTEL_DENO: "true",
        OTEL_SERVICE_NAME: "ollama-exporter-test",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: receiver.metricsEndpoint,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: listener.tracesEndpoint,
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${listener.url}/v1/logs`,
        OTEL_METRIC_EXPORT_INTERVAL: "300",
        OTEL_BSP_SCHEDULE_DELAY: "200",
      },
    });
    const base: string = exporter.url;
    const hopUrl: string = hop.url;
    const hopPort = Number(new URL(hopUrl).port);

    // The scenario, one request at a time; every answer read to the end.
    const answers = new Map<string, string>();
    for (const call of CALLS) {
      const response = await fetch(base + call.path, {
        method: call.method,
        headers: {
          [EXCHANGE_ID_HEADER]: call.id,
          ...(call.body ? { "content-type": "application/json" } : {}),
          ...(call.traceparent ? { traceparent: call.traceparent } : {}),
        },
        ...(call.body ? { body: JSON.stringify(call.body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
      answers.set(call.id, await response.text());
      const expected = call.id === "unknown-model" ? 404 : 200;
      assert.equal(response.status, expected, `${call.id}: ${answers.get(call.id)}`);
    }
    const wire = new Map<string, WireFacts>();
    const upstreamTraceparent = new Map<string, string | null>();
    for (const call of CALLS) {
      const exchange = await hop.exchange(call.id);
      upstreamTraceparent.set(call.id, exchange.requestHeaders.get("traceparent"));
      if (call.operation === undefined) continue;
      wire.set(
        call.id,
        readWire({
          target: exchange.target,
          status: exchange.status,
          contentType: exchange.responseHeaders.get("content-type"),
          body: exchange.body(),
        }),
      );
    }

    // --- Spans -------------------------------------------------------------------------------
    const ours = (spans: readonly DecodedSpan[]) =>
      spans.filter((span) => span.scope.name === "ollama-exporter");
    const spans = await listener.waitFor((all) => ours(all).length >= CALLS.length, {
      timeoutMs: 15_000,
    });
    const exporterSpans = ours(spans);
    assert.equal(exporterSpans.length, CALLS.length, "one span per proxied request");
    const byTraceparent = new Map(
      exporterSpans.map((span) => [`00-${span.traceId}-${span.spanId}-01`, span]),
    );
    const spanOf = new Map<string, DecodedSpan>();
    for (const call of CALLS) {
      const sent = upstreamTraceparent.get(call.id);
      assert.ok(sent, `${call.id}: Ollama received no traceparent`);
      const span = byTraceparent.get(sent);
      assert.ok(span, `${call.id}: Ollama's traceparent ${sent} is no span of the exporter's`);
      spanOf.set(call.id, span);
    }
    for (const call of CALLS) {
      const span = spanOf.get(call.id)!;
      assert.equal(span.kind, OtlpSpanKind.CLIENT, call.id);
      // The parent is Deno.serve's server span for the same request, in the same trace.
      const parent = spans.find((candidate) => candidate.spanId === span.parentSpanId);
      assert.ok(parent, `${call.id}: the parent span ${span.parentSpanId} was not exported`);
      assert.equal(parent.kind, OtlpSpanKind.SERVER, call.id);
      assert.equal(parent.traceId, span.traceId, call.id);
      if (call.traceparent) {
        const [, traceId, parentId] = call.traceparent.split("-");
        assert.equal(span.traceId, traceId, `${call.id}: the client's trace is continued`);
        assert.equal(parent.parentSpanId, parentId, `${call.id}: the server span's parent`);
      }
      assert.equal(span.resource["service.name"], "ollama-exporter-test");
      const common = {
        "http.request.method": call.method,
        "url.full": `${hopUrl}${call.path}`,
        "server.address": "127.0.0.1",
        "server.port": hopPort,
        "http.response.status_code": call.id === "unknown-model" ? 404 : 200,
      };
      if (call.operation === undefined) {
        assert.equal(span.name, call.method, call.id);
        assert.deepEqual(span.attributes, common, call.id);
        assert.equal(span.events.length, 0, call.id);
        continue;
      }
      const facts = wire.get(call.id)!;
      const model = call.model ?? "";
      const expected: Record<string, unknown> = {
        ...common,
        "gen_ai.operation.name": call.operation,
        "gen_ai.provider.name": "ollama",
      };
      if (call.id === "unknown-model") {
        // The span names the model asked for (its metrics count it as `other`).
        assert.equal(span.name, `${call.operation} no-such-model-e7f3:latest`, call.id);
        expected["gen_ai.request.model"] = "no-such-model-e7f3:latest";
        expected["error.type"] = "upstream_error";
        assert.equal(span.status.code, 2, call.id);
        assert.equal(span.status.message, "upstream_error", call.id);
      } else {
        assert.equal(span.name, `${call.operation} ${model}`, call.id);
        expected["gen_ai.request.model"] = model;
        assert.equal(span.status.code, 0, call.id);
      }
      if (facts.promptTokens !== null) expected["gen_ai.usage.input_tokens"] = facts.promptTokens;
      if (facts.outputTokens !== null) expected["gen_ai.usage.output_tokens"] = facts.outputTokens;
      if (facts.finishReason !== null) {
        expected["gen_ai.response.finish_reasons"] = [facts.finishReason];
      }
      assert.deepEqual(span.attributes, expected, call.id);
      // The first-token event: on streams with output, exactly once, inside the span.
      if (facts.streaming && facts.outputChunks > 0) {
        assert.deepEqual(span.events.map((event) => event.name), ["gen_ai.first_token"], call.id);
        const at = span.events[0]!.timeUnixNano;
        assert.ok(at > span.startTimeUnixNano && at < span.endTimeUnixNano, call.id);
      } else {
        assert.equal(span.events.length, 0, call.id);
      }
    }
    // Every generation had tokens, every stream a first token: the checks above compared numbers.
    assert.equal(
      CALLS.filter((call) => wire.get(call.id)?.outputTokens != null).length,
      6,
      "six generations reported their output tokens",
    );

    // --- Exemplars carry the spans' trace ids ---------------------------------------------------
    const openMetrics = await (await fetch(`${base}/metrics`, {
      headers: { accept: "application/openmetrics-text; version=1.0.0" },
      signal: AbortSignal.timeout(10_000),
    })).text();
    const exemplarIds = exemplarTraceIds(openMetrics, "ollama_response_seconds");
    for (const call of CALLS) {
      assert.ok(
        exemplarIds.has(spanOf.get(call.id)!.traceId),
        `${call.id}: no exemplar with the span's trace id`,
      );
    }

    // --- Metrics: the receiver against the wire and /metrics ----------------------------------
    const samples = parseExposition(
      await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(),
    );
    const genAi = CALLS.filter((call) => call.operation !== undefined);
    const total = (
      calls: readonly Call[],
      value: (facts: WireFacts) => number | null,
    ) => calls.reduce((sum, call) => sum + (value(wire.get(call.id)!) ?? 0), 0);
    const models = ["tiny:latest", "tiny-embed:latest"];
    const expectedTokens: Array<{ labels: Record<string, string>; value: number }> = [];
    for (const operation of ["chat", "text_completion", "embeddings"] as const) {
      for (const model of models) {
        const calls = genAi.filter((call) => call.operation === operation && call.model === model);
        if (calls.length === 0) continue;
        for (const type of ["input", "output"] as const) {
          const value = total(calls, (f) => type === "input" ? f.promptTokens : f.outputTokens);
          const reported = calls.some((call) => {
            const facts = wire.get(call.id)!;
            return (type === "input" ? facts.promptTokens : facts.outputTokens) !== null;
          });
          if (!reported) continue;
          expectedTokens.push({
            labels: {
              "gen_ai.operation.name": operation,
              "gen_ai.request.model": model,
              "gen_ai.token.type": type,
            },
            value,
          });
        }
      }
    }
    const key = (labels: Record<string, string>) =>
      `${labels["gen_ai.operation.name"]}|${labels["gen_ai.request.model"]}|${
        labels["gen_ai.token.type"]
      }`;
    const want = new Map(expectedTokens.map((e) => [key(e.labels), e.value]));
    const tokenSums = await receiver.waitFor(
      'sum by (gen_ai.operation.name, gen_ai.request.model, gen_ai.token.type) ({__name__="gen_ai.client.token.usage_sum"})',
      (vector) =>
        vector.length === want.size &&
        vector.every((s) => want.get(key(s.metric)) === s.value),
      { timeoutMs: 15_000 },
    );
    assert.equal(tokenSums.length, want.size);
    // ... and /metrics counts the same tokens per model.
    for (const model of models) {
      for (
        const [type, family] of [
          ["input", "ollama_tokens_processed_total"],
          ["output", "ollama_tokens_generated_total"],
        ] as const
      ) {
        const otlp = tokenSums
          .filter((s) =>
            s.metric["gen_ai.request.model"] === model && s.metric["gen_ai.token.type"] === type
          )
          .reduce((sum, s) => sum + s.value, 0);
        assert.equal(otlp, sumOf(samples, family, (l) => l.model === model), `${model} ${type}`);
      }
    }
    assert.ok(want.get("chat|tiny:latest|output")! > 0, "the chat generations made tokens");

    // Time to first token: one per stream with output, per operation, as on /metrics.
    for (const operation of ["chat", "text_completion", "embeddings"] as const) {
      const streams = genAi.filter((call) =>
        call.operation === operation && wire.get(call.id)!.streaming &&
        wire.get(call.id)!.outputChunks > 0
      ).length;
      const onMetrics = sumOf(
        samples,
        "ollama_time_to_first_token_seconds_count",
        (l) =>
          ENDPOINTS[operation]!.includes(l.endpoint!),
      );
      assert.equal(onMetrics, streams, `${operation}: /metrics first tokens`);
    }
    const firstTokens = await receiver.waitFor(
      'sum by (gen_ai.operation.name) ({__name__="gen_ai.server.time_to_first_token_count"})',
      (vector) => vector.length === 1 && vector[0]!.value === 4,
      { timeoutMs: 15_000 },
    );
    assert.equal(firstTokens[0]!.metric["gen_ai.operation.name"], "chat");
    const firstTokenSum = await receiver.query(
      'sum({__name__="gen_ai.server.time_to_first_token_sum"})',
    );
    const metricsFirstTokenSum = sumOf(samples, "ollama_time_to_first_token_seconds_sum");
    assert.ok(
      Math.abs(firstTokenSum[0]!.value - metricsFirstTokenSum) < 1e-9,
      `${firstTokenSum[0]!.value} vs ${metricsFirstTokenSum}`,
    );

    // Operation duration: one per GenAI request, the failed one with error.type; sums as on
    // /metrics' response seconds of those endpoints.
    const durations = await receiver.waitFor(
      'sum by (gen_ai.operation.name, gen_ai.request.model, error.type) ({__name__="gen_ai.client.operation.duration_count"})',
      (vector) => vector.reduce((sum, s) => sum + s.value, 0) === genAi.length,
      { timeoutMs: 15_000 },
    );
    const failed = durations.filter((s) => s.metric["error.type"] !== undefined);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.metric["error.type"], "upstream_error");
    assert.equal(failed[0]!.metric["gen_ai.request.model"], "other", "bounded: not admitted");
    assert.equal(failed[0]!.value, 1);
    const genAiEndpoints = Object.values(ENDPOINTS).flat();
    const responseSum = sumOf(
      samples,
      "ollama_response_seconds_sum",
      (l) => genAiEndpoints.includes(l.endpoint!),
    );
    for (const name of ["gen_ai.client.operation.duration", "gen_ai.server.request.duration"]) {
      const [sum] = await receiver.query(`sum({__name__="${name}_sum"})`);
      assert.ok(
        Math.abs(sum!.value - responseSum) < 1e-9,
        `${name}: ${sum!.value} vs ${responseSum}`,
      );
    }
    // The advised buckets reach the receiver: the token histogram's 14 bounds and +Inf.
    const bounds = await receiver.query(
      'count by (le) ({__name__="gen_ai.client.token.usage_bucket"})',
    );
    assert.equal(bounds.length, 15, JSON.stringify(bounds.map((b) => b.metric.le)));

    // --- No text: neither prompts nor answers are in anything exported ------------------------
    const exported = listener.rawBodies().map((body) => new TextDecoder().decode(body)).join("\n");
    assert.ok(!exported.includes(SECRET), "a prompt reached the exported telemetry");
    let fragments = 0;
    for (const [id, text] of answers) {
      for (const fragment of contentFragments(text)) {
        fragments++;
        assert.ok(!exported.includes(fragment), `${id}: answer text reached the telemetry`);
      }
    }
    assert.ok(fragments >= 4, `only ${fragments} pieces of answer text were looked for`);
    // ... nor in any series the receiver holds (metric attributes and resource).
    const series = JSON.stringify(await receiver.query('{__name__=~"gen_ai.*"}'));
    assert.ok(series.includes("tiny:latest"), "the receiver's series were read");
    assert.ok(!series.includes(SECRET), "a prompt reached a metric attribute");
    for (const [id, text] of answers) {
      for (const fragment of contentFragments(text)) {
        assert.ok(!series.includes(fragment), `${id}: answer text reached a metric attribute`);
      }
    }
  } finally {
    if (exporter) {
      exporter.kill("SIGTERM");
      await exporter.exit();
    }
    await listener?.close();
    await receiver?.close();
    await hop?.close();
    await ollama?.close();
  }
});

/** The generated text of an answer body (JSON or stream), in pieces of 12 characters or more. */
function contentFragments(body: string): string[] {
  const texts: string[] = [];
  const visit = (value: unknown, key: string) => {
    if (typeof value === "string") {
      if (["content", "response", "text", "delta", "thinking"].includes(key)) texts.push(value);
    } else if (Array.isArray(value)) value.forEach((v) => visit(v, key));
    else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  for (const line of body.split("\n")) {
    const json = line.startsWith("data: ") ? line.slice(6) : line;
    try {
      visit(JSON.parse(json), "");
    } catch {
      // not JSON (event names, [DONE], blank lines)
    }
  }
  const whole = texts.join("");
  const fragments: string[] = [];
  for (let i = 0; i + 12 <= whole.length; i += 12) fragments.push(whole.slice(i, i + 12));
  return fragments;
}
