/**
 * The OTLP test helpers themselves: `support/otlp_proto.ts` decodes requests exactly (a
 * hand-made one with every attribute type), `support/otlp_trace_listener.ts` collects the spans a
 * real Deno program sends with `OTEL_DENO=true` (and refuses what it cannot decode), and
 * `support/otlp_receiver.ts` reads that program's histogram back from the real receiver
 * (VictoriaMetrics) with exact count, sum and buckets.
 *
 * Each test is skipped, with one line saying why, when its tool is missing; with `CI=true` (where
 * `.ci/run` installs the `.proto` files and the receiver sits beside the project) it fails
 * instead.
 */
import assert from "node:assert/strict";
import {
  type DecodedSpan,
  decodeMetricsRequest,
  decodeTraceRequest,
  OTEL_PROTO_ABSENT,
  otlpProtoRoot,
  OtlpSpanKind,
  OtlpStatusCode,
} from "./support/otlp_proto.ts";
import { OTLP_RECEIVER_ABSENT, OtlpReceiver } from "./support/otlp_receiver.ts";
import { OtlpTraceListener } from "./support/otlp_trace_listener.ts";

const IN_CI = Deno.env.get("CI") === "true";
if (OTEL_PROTO_ABSENT !== null && !IN_CI) console.log(OTEL_PROTO_ABSENT);
if (OTLP_RECEIVER_ABSENT !== null && !IN_CI) console.log(OTLP_RECEIVER_ABSENT);

/** Throws, in CI, when a tool the test needs is missing (elsewhere the test is ignored). */
function requireTool(absent: string | null): void {
  if (absent !== null) throw new Error(`${absent}; with CI=true it must be there`);
}

/** The remote parent the child program continues (the W3C trace-context example's ids). */
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const REMOTE_PARENT_ID = "00f067aa0ba902b7";

/**
 * The program under test: a span continuing {@link TRACE_ID}, with attributes and an event, a
 * child span that fails, and a histogram with explicit buckets. `--no-spans` leaves the spans out.
 */
const CHILD_PROGRAM = `
import { context, metrics, SpanKind, SpanStatusCode, trace } from "npm:@opentelemetry/api@1.9.0";

if (!Deno.args.includes("--no-spans")) {
  const tracer = trace.getTracer("otlp-support-child", "1.2.3");
  const remote = trace.setSpanContext(context.active(), {
    traceId: "${TRACE_ID}",
    spanId: "${REMOTE_PARENT_ID}",
    traceFlags: 1,
    isRemote: true,
  });
  const attributes = {
    "otlp_support.text": "hello otlp",
    "otlp_support.count": 42,
    "otlp_support.tags": ["a", "b"],
  };
  tracer.startActiveSpan("otlp-support parent", { kind: SpanKind.SERVER, attributes }, remote, (parent) => {
    parent.addEvent("otlp_support.event", { "otlp_support.size": 7 });
    tracer.startActiveSpan("otlp-support child", { kind: SpanKind.CLIENT }, (child) => {
      child.setAttributes({ "otlp_support.flag": true, "otlp_support.ratio": 0.25 });
      child.setStatus({ code: SpanStatusCode.ERROR, message: "child failed on purpose" });
      child.end();
    });
    parent.end();
  });
}
const histogram = metrics.getMeter("otlp-support-child").createHistogram("otlp.support.size", {
  unit: "By",
  advice: { explicitBucketBoundaries: [1, 4, 16] },
});
for (const value of [0.5, 1, 3, 4, 10, 100]) histogram.record(value, { "size.kind": "test" });
// Past one export interval (500 ms), so that the delivery does not rest on the flush at exit alone.
await new Promise((resolve) => setTimeout(resolve, 800));
`;

/** What the histogram's six values make: the bounds are inclusive upper bounds. */
const HISTOGRAM = {
  count: 6,
  sum: 118.5,
  bounds: [1, 4, 16],
  bucketCounts: [2, 2, 1, 1],
  cumulative: { "1": 2, "4": 4, "16": 5, "+Inf": 6 },
};

/** Runs {@link CHILD_PROGRAM} with `env` added to OTel's settings; throws unless it exits 0. */
async function runChild(env: Record<string, string>, args: string[] = []): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "otlp_support_" });
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(), 60_000);
  try {
    await Deno.writeTextFile(`${dir}/child.ts`, CHILD_PROGRAM);
    const output = await new Deno.Command(Deno.execPath(), {
      // No project configuration: the child stands alone (and leaves deno.lock alone).
      args: ["run", "-A", "--no-config", `${dir}/child.ts`, ...args],
      cwd: dir,
      env: {
        OTEL_DENO: "true",
        OTEL_SERVICE_NAME: "otlp-support-test",
        OTEL_METRIC_EXPORT_INTERVAL: "500",
        NO_COLOR: "1",
        ...env,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    const stderr = new TextDecoder().decode(output.stderr).trim();
    if (abort.signal.aborted) throw new Error(`The child program ran over 60 s: ${stderr}`);
    if (!output.success) {
      throw new Error(`The child program exited with code ${output.code}: ${stderr}`);
    }
  } finally {
    clearTimeout(deadline);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "otlp_proto decodes a hand-made trace request: hex ids, every attribute type, exact times",
  ignore: OTEL_PROTO_ABSENT !== null && !IN_CI,
  fn() {
    requireTool(OTEL_PROTO_ABSENT);
    const type = otlpProtoRoot().lookupType(
      "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
    );
    const bytes = (text: string) => Uint8Array.from(text.match(/../g)!, (b) => parseInt(b, 16));
    const body = type.encode(type.fromObject({
      resourceSpans: [{
        resource: { attributes: [{ key: "service.name", value: { stringValue: "svc" } }] },
        scopeSpans: [{
          scope: { name: "scope-a", version: "0.1" },
          spans: [{
            traceId: bytes("0102030405060708090a0b0c0d0e0f10"),
            spanId: bytes("a1a2a3a4a5a6a7a8"),
            parentSpanId: bytes("b1b2b3b4b5b6b7b8"),
            traceState: "k=v",
            name: "span-a",
            kind: 3,
            startTimeUnixNano: "1700000000000000001",
            endTimeUnixNano: "1700000000123456789",
            attributes: [
              { key: "s", value: { stringValue: "text" } },
              { key: "b", value: { boolValue: false } },
              { key: "i", value: { intValue: -7 } },
              { key: "d", value: { doubleValue: 2.5 } },
              {
                key: "arr",
                value: { arrayValue: { values: [{ stringValue: "x" }, { intValue: 1 }] } },
              },
              {
                key: "kv",
                value: { kvlistValue: { values: [{ key: "in", value: { boolValue: true } }] } },
              },
              { key: "bytes", value: { bytesValue: Uint8Array.of(0, 255) } },
              { key: "empty", value: {} },
            ],
            droppedAttributesCount: 3,
            events: [{
              name: "ev",
              timeUnixNano: "1700000000000000002",
              attributes: [{ key: "n", value: { intValue: 9 } }],
            }],
            links: [{ traceId: bytes("11".repeat(16)), spanId: bytes("22".repeat(8)) }],
            status: { code: 2, message: "bad" },
          }],
        }],
      }],
    })).finish();

    const decoded = decodeTraceRequest(body);
    const want: DecodedSpan = {
      traceId: "0102030405060708090a0b0c0d0e0f10",
      spanId: "a1a2a3a4a5a6a7a8",
      parentSpanId: "b1b2b3b4b5b6b7b8",
      traceState: "k=v",
      name: "span-a",
      kind: OtlpSpanKind.CLIENT,
      attributes: {
        s: "text",
        b: false,
        i: -7,
        d: 2.5,
        arr: ["x", 1],
        kv: { in: true },
        bytes: Uint8Array.of(0, 255),
        empty: null,
      },
      events: [{ name: "ev", timeUnixNano: 1700000000000000002n, attributes: { n: 9 } }],
      links: [{ traceId: "11".repeat(16), spanId: "22".repeat(8), attributes: {} }],
      status: { code: OtlpStatusCode.ERROR, message: "bad" },
      resource: { "service.name": "svc" },
      scope: { name: "scope-a", version: "0.1", attributes: {} },
      startTimeUnixNano: 1700000000000000001n,
      endTimeUnixNano: 1700000000123456789n,
      dropped: { attributes: 3, events: 0, links: 0 },
    };
    assert.deepEqual(decoded.spans, [want]);
    // The raw message is JSON-safe: bytes in base64, 64-bit integers as decimal strings.
    const raw = JSON.stringify(decoded.raw);
    assert.ok(raw.includes('"traceId":"AQIDBAUGBwgJCgsMDQ4PEA=="'), raw);
    assert.ok(raw.includes('{"key":"i","value":{"intValue":"-7"}}'), raw);

    assert.throws(
      () => decodeTraceRequest(Uint8Array.of(0x0a, 0xff, 0xff)),
      /^Error: Cannot decode a 3-byte body as an OTLP ExportTraceServiceRequest: /,
    );
  },
});

Deno.test({
  name: "otlp_proto decodes a hand-made metrics request: gauge, sum and histogram points",
  ignore: OTEL_PROTO_ABSENT !== null && !IN_CI,
  fn() {
    requireTool(OTEL_PROTO_ABSENT);
    const type = otlpProtoRoot().lookupType(
      "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest",
    );
    const point = { timeUnixNano: "1700000000000000000", attributes: [] };
    const body = type.encode(type.fromObject({
      resourceMetrics: [{
        resource: { attributes: [{ key: "service.name", value: { stringValue: "svc" } }] },
        scopeMetrics: [{
          scope: { name: "meter-a" },
          metrics: [
            { name: "g", unit: "1", gauge: { dataPoints: [{ ...point, asInt: 5 }] } },
            {
              name: "s",
              description: "a sum",
              sum: {
                dataPoints: [{ ...point, asDouble: 1.5 }],
                aggregationTemporality: 2,
                isMonotonic: true,
              },
            },
            {
              name: "h",
              histogram: {
                aggregationTemporality: 1,
                dataPoints: [{
                  ...point,
                  attributes: [{ key: "k", value: { stringValue: "v" } }],
                  count: 3,
                  sum: 6,
                  bucketCounts: [1, 2],
                  explicitBounds: [2],
                  min: 1,
                  max: 3,
                }],
              },
            },
          ],
        }],
      }],
    })).finish();

    const common = {
      description: "",
      unit: "",
      resource: { "service.name": "svc" },
      scope: { name: "meter-a", version: "", attributes: {} },
    };
    const times = { startTimeUnixNano: 0n, timeUnixNano: 1700000000000000000n };
    assert.deepEqual(decodeMetricsRequest(body).metrics, [
      {
        ...common,
        name: "g",
        unit: "1",
        type: "gauge",
        points: [{ attributes: {}, ...times, value: 5 }],
      },
      {
        ...common,
        name: "s",
        description: "a sum",
        type: "sum",
        points: [{ attributes: {}, ...times, value: 1.5 }],
        isMonotonic: true,
        temporality: 2,
      },
      {
        ...common,
        name: "h",
        type: "histogram",
        points: [{
          attributes: { k: "v" },
          ...times,
          count: 3,
          sum: 6,
          bucketCounts: [1, 2],
          explicitBounds: [2],
          min: 1,
          max: 3,
        }],
        temporality: 1,
      },
    ]);
  },
});

Deno.test({
  name: "OtlpTraceListener collects the spans and metrics a Deno program sends with OTEL_DENO",
  ignore: OTEL_PROTO_ABSENT !== null && !IN_CI,
  async fn() {
    requireTool(OTEL_PROTO_ABSENT);
    await using listener = await OtlpTraceListener.start();
    assert.match(listener.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(listener.tracesEndpoint, `${listener.url}/v1/traces`);
    const before = BigInt(Date.now()) * 1_000_000n;
    await runChild({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: listener.tracesEndpoint,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${listener.url}/v1/metrics`,
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${listener.url}/v1/logs`,
    });
    const after = BigInt(Date.now()) * 1_000_000n;
    const spans = await listener.waitFor((all) => all.length >= 2, { timeoutMs: 15_000 });

    // Deno sends the child span first (spans are exported as they end).
    assert.deepEqual(spans.map((span) => span.name), ["otlp-support child", "otlp-support parent"]);
    const [child, parent] = spans as [DecodedSpan, DecodedSpan];
    assert.equal(parent.traceId, TRACE_ID);
    assert.equal(parent.parentSpanId, REMOTE_PARENT_ID);
    assert.match(parent.spanId, /^[0-9a-f]{16}$/);
    assert.equal(child.traceId, TRACE_ID);
    assert.equal(child.parentSpanId, parent.spanId);
    assert.match(child.spanId, /^[0-9a-f]{16}$/);
    assert.notEqual(child.spanId, parent.spanId);

    assert.equal(parent.kind, OtlpSpanKind.SERVER);
    assert.equal(child.kind, OtlpSpanKind.CLIENT);
    assert.deepEqual(parent.attributes, {
      "otlp_support.text": "hello otlp",
      "otlp_support.count": 42,
      "otlp_support.tags": ["a", "b"],
    });
    assert.deepEqual(child.attributes, { "otlp_support.flag": true, "otlp_support.ratio": 0.25 });
    assert.deepEqual(parent.status, { code: OtlpStatusCode.UNSET, message: "" });
    assert.deepEqual(child.status, {
      code: OtlpStatusCode.ERROR,
      message: "child failed on purpose",
    });
    assert.deepEqual(
      parent.events.map(({ name, attributes }) => ({ name, attributes })),
      [{ name: "otlp_support.event", attributes: { "otlp_support.size": 7 } }],
    );
    const at = parent.events[0]!.timeUnixNano;
    assert.ok(parent.startTimeUnixNano <= at && at <= parent.endTimeUnixNano);
    assert.ok(parent.startTimeUnixNano <= child.startTimeUnixNano);
    assert.ok(child.endTimeUnixNano <= parent.endTimeUnixNano);
    assert.ok(before <= parent.startTimeUnixNano && parent.endTimeUnixNano <= after);
    for (const span of spans) {
      assert.deepEqual(span.scope, {
        name: "otlp-support-child",
        version: "1.2.3",
        attributes: {},
      });
      assert.equal(span.resource["service.name"], "otlp-support-test");
      assert.equal(span.resource["process.runtime.name"], "deno");
      assert.equal(span.resource["process.runtime.version"], Deno.version.deno);
      assert.equal(span.resource["telemetry.sdk.name"], "deno-opentelemetry");
      assert.deepEqual(span.dropped, { attributes: 0, events: 0, links: 0 });
    }

    // The wire types: Deno 2.9.6 sends every JS number as a doubleValue, integers too (42 is
    // not an intValue), a string array as an arrayValue of stringValues.
    const bodies = listener.bodies();
    const traceBodies = bodies.filter((body) => body.path === "/v1/traces");
    const raw = traceBodies.map((body) => JSON.stringify(decodeTraceRequest(body.bytes).raw))
      .join();
    assert.ok(raw.includes('{"key":"otlp_support.count","value":{"doubleValue":42}}'), raw);
    assert.ok(raw.includes('{"key":"otlp_support.ratio","value":{"doubleValue":0.25}}'), raw);
    assert.ok(
      raw.includes(
        '{"key":"otlp_support.tags","value":{"arrayValue":{"values":[{"stringValue":"a"},' +
          '{"stringValue":"b"}]}}}',
      ),
      raw,
    );
    for (const body of bodies) assert.equal(body.contentType, "application/x-protobuf");
    // rawBodies() holds the bytes as sent: the attribute's text is there, in UTF-8.
    const text = listener.rawBodies().map((bytes) => new TextDecoder().decode(bytes)).join("\n");
    assert.ok(text.includes("hello otlp"));
    assert.ok(!text.includes("never sent"));

    // The histogram, from the same program's metrics bodies (cumulative: the last one is whole).
    const histograms = bodies.filter((body) => body.path === "/v1/metrics")
      .flatMap((body) => decodeMetricsRequest(body.bytes).metrics)
      .filter((metric) => metric.name === "otlp.support.size");
    const last = histograms.at(-1);
    assert.ok(last !== undefined && last.type === "histogram", "no otlp.support.size histogram");
    assert.equal(last.unit, "By");
    assert.deepEqual(last.scope, { name: "otlp-support-child", version: "", attributes: {} });
    assert.equal(last.temporality, 2);
    assert.deepEqual(
      last.points.map(({ attributes, count, sum, bucketCounts, explicitBounds, min, max }) => ({
        attributes,
        count,
        sum,
        bucketCounts,
        explicitBounds,
        min,
        max,
      })),
      [{
        attributes: { "size.kind": "test" },
        count: HISTOGRAM.count,
        sum: HISTOGRAM.sum,
        bucketCounts: HISTOGRAM.bucketCounts,
        explicitBounds: HISTOGRAM.bounds,
        min: 0.5,
        max: 100,
      }],
    );
    assert.deepEqual(listener.errors(), []);
  },
});

Deno.test({
  name: "OtlpTraceListener refuses OTLP/JSON (415) and its waitFor then fails at once, saying why",
  ignore: OTEL_PROTO_ABSENT !== null && !IN_CI,
  async fn() {
    requireTool(OTEL_PROTO_ABSENT);
    await using listener = await OtlpTraceListener.start();
    const post = async (path: string, init: RequestInit) => {
      const response = await fetch(`${listener.url}${path}`, { method: "POST", ...init });
      return { status: response.status, body: await response.bytes() };
    };
    const empty = await post("/v1/logs", {
      headers: { "content-type": "application/x-protobuf" },
      body: new Uint8Array(0),
    });
    assert.deepEqual(empty, { status: 200, body: new Uint8Array(0) });
    assert.equal((await post("/v1/nothing", { body: "" })).status, 404);
    const got = await fetch(listener.tracesEndpoint);
    await got.body?.cancel();
    assert.equal(got.status, 405);

    const json = await post("/v1/traces", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ resourceSpans: [] }),
    });
    assert.equal(json.status, 415);
    assert.equal(listener.errors().length, 1);
    const started = Date.now();
    await assert.rejects(
      listener.waitFor((spans) => spans.length > 0, { timeoutMs: 10_000 }),
      /refused 1 body\(ies\): \/v1\/traces: content-type "application\/json" is not application\/x-protobuf/,
    );
    assert.ok(Date.now() - started < 1_000, "waitFor waited although a body was refused");
    assert.deepEqual(
      listener.bodies().map(({ path, contentType }) => [path, contentType]),
      [["/v1/logs", "application/x-protobuf"], ["/v1/traces", "application/json"]],
    );
  },
});

Deno.test({
  name: "OtlpTraceListener.waitFor times out at its deadline, listing the spans it saw",
  ignore: OTEL_PROTO_ABSENT !== null && !IN_CI,
  async fn() {
    requireTool(OTEL_PROTO_ABSENT);
    await using listener = await OtlpTraceListener.start();
    const type = otlpProtoRoot().lookupType(
      "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
    );
    const body = type.encode(type.fromObject({
      resourceSpans: [{
        scopeSpans: [{ spans: [{ name: "seen", spanId: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }] }],
      }],
    })).finish();
    const response = await fetch(listener.tracesEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: new Uint8Array(body),
    });
    await response.body?.cancel();
    assert.equal(response.status, 200);
    await assert.rejects(
      listener.waitFor((spans) => spans.length > 1, { timeoutMs: 200 }),
      new RegExp(
        "^Error: Timed out after 200 ms waiting for spans at http://127\\.0\\.0\\.1:\\d+/v1/traces; " +
          'received 1 body\\(ies\\) and 1 span\\(s\\): "seen" \\(0102030405060708\\)$',
      ),
    );
  },
});

// VictoriaMetrics 1.112 stores an OTLP histogram as Prometheus-style series, names keeping their
// dots and no unit suffix (unit "By" is not appended): `otlp.support.size_bucket` with `le`
// labels "1", "4", "16", "+Inf" (cumulative counts), `otlp.support.size_count` and
// `otlp.support.size_sum`; the point's attributes and the resource's attributes (service.name,
// process.runtime.*, telemetry.sdk.*) become labels; no scope label, no _min/_max series.
Deno.test({
  name: "OtlpReceiver reads a Deno program's histogram back: count, sum and le buckets, exact",
  ignore: OTLP_RECEIVER_ABSENT !== null && !IN_CI,
  async fn() {
    requireTool(OTLP_RECEIVER_ABSENT);
    await using receiver = await OtlpReceiver.start();
    assert.equal(receiver.metricsEndpoint, `${receiver.url}/opentelemetry/v1/metrics`);
    await runChild({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: receiver.metricsEndpoint }, [
      "--no-spans",
    ]);

    const counts = await receiver.waitFor(
      "otlp.support.size_count",
      (vector) => vector.length === 1 && vector[0]!.value === HISTOGRAM.count,
      { timeoutMs: 15_000 },
    );
    assert.deepEqual(Object.keys(counts[0]!.metric).sort(), [
      "__name__",
      "process.runtime.name",
      "process.runtime.version",
      "service.name",
      "size.kind",
      "telemetry.sdk.language",
      "telemetry.sdk.name",
      "telemetry.sdk.version",
    ]);
    assert.equal(counts[0]!.metric["__name__"], "otlp.support.size_count");
    assert.equal(counts[0]!.metric["service.name"], "otlp-support-test");
    assert.equal(counts[0]!.metric["size.kind"], "test");
    assert.equal(counts[0]!.metric["process.runtime.version"], Deno.version.deno);

    assert.deepEqual(await receiver.query("otlp.support.size_sum"), [{
      metric: { ...counts[0]!.metric, __name__: "otlp.support.size_sum" },
      value: HISTOGRAM.sum,
    }]);
    const buckets = await receiver.query('otlp.support.size_bucket{"size.kind"="test"}');
    assert.deepEqual(
      Object.fromEntries(buckets.map((sample) => [sample.metric["le"], sample.value])),
      HISTOGRAM.cumulative,
    );
    assert.deepEqual(
      new Set(buckets.map((sample) => sample.metric["__name__"])),
      new Set(["otlp.support.size_bucket"]),
    );
    assert.deepEqual(await receiver.query("sum(otlp.support.size_count)"), [{
      metric: {},
      value: HISTOGRAM.count,
    }]);
    assert.deepEqual(await receiver.query('{__name__=~"otlp\\\\.support\\\\.size_(min|max)"}'), []);

    await assert.rejects(
      receiver.waitFor("otlp.support.absent", (vector) => vector.length > 0, { timeoutMs: 300 }),
      /^Error: Timed out after 300 ms waiting for otlp\.support\.absent at http:\/\/127\.0\.0\.1:\d+; last seen: an empty vector$/,
    );
    await assert.rejects(receiver.query("sum("), /^Error: Cannot query sum\(: HTTP 4\d\d/);

    await receiver.close();
    await assert.rejects(fetch(`${receiver.url}/health`), TypeError);
  },
});
