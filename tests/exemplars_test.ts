/**
 * Exemplars on histogram buckets (issue #12): what `observe(value, exemplar)` keeps, how
 * OpenMetrics writes it, what is dropped, and that the text format 0.0.4 never carries one.
 */
import assert from "node:assert/strict";
import { type Exemplar, EXEMPLAR_MAX_RUNES } from "../lib/metrics/exemplar.ts";
import { Histogram } from "../lib/metrics/histogram.ts";
import { metricsResponse } from "../lib/metrics/metrics_response.ts";
import { encodeOpenMetrics } from "../lib/metrics/open_metrics_format.ts";
import { Registry } from "../lib/metrics/registry.ts";
import { encodeText } from "../lib/metrics/text_format.ts";

const TRACE_A = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACE_B = "0af7651916cd43dd8448eb211c80319c";
const TRACE_C = "b7ad6b7169203331b7ad6b7169203331";
const TRACE_D = "00f067aa0ba902b700f067aa0ba902b7";
const T0 = 1_767_323_045_123;

function lines(...all: string[]): string {
  return all.map((line) => `${line}\n`).join("");
}

function trace(id: string, timestamp: number): Exemplar {
  return { labels: { trace_id: id }, timestamp };
}

function responseSeconds(registry: Registry): Histogram {
  return registry.histogram({
    name: "ollama_response_seconds",
    help: "Time to the last byte.",
    labelNames: ["model", "endpoint"],
    buckets: [0.1, 0.5, 1],
    sumScale: 1e9,
  });
}

Deno.test("OpenMetrics: each bucket carries the exemplar of its last observation", async () => {
  const registry = new Registry();
  const histogram = responseSeconds(registry);
  const chat = histogram.labels("llama3.2", "/api/chat");
  chat.observe(0.05, trace(TRACE_A, T0)); // le=0.1
  chat.observe(0.42, trace(TRACE_B, T0 + 1)); // le=0.5
  chat.observe(0.07, trace(TRACE_C, T0 + 2)); // le=0.1 again: replaces TRACE_A
  chat.observe(0.08); // le=0.1 without exemplar: TRACE_C stays
  chat.observe(0.75); // le=1.0: counted, no exemplar anywhere
  chat.observe(12.5, trace(TRACE_D, 1_767_323_046_000)); // +Inf, a whole second
  histogram.labels("gemma3", "/api/generate").observe(0.3);

  assert.equal(
    encodeOpenMetrics(await registry.collect()),
    lines(
      "# HELP ollama_response_seconds Time to the last byte.",
      "# TYPE ollama_response_seconds histogram",
      'ollama_response_seconds_bucket{model="gemma3",endpoint="/api/generate",le="0.1"} 0',
      'ollama_response_seconds_bucket{model="gemma3",endpoint="/api/generate",le="0.5"} 1',
      'ollama_response_seconds_bucket{model="gemma3",endpoint="/api/generate",le="1.0"} 1',
      'ollama_response_seconds_bucket{model="gemma3",endpoint="/api/generate",le="+Inf"} 1',
      'ollama_response_seconds_sum{model="gemma3",endpoint="/api/generate"} 0.3',
      'ollama_response_seconds_count{model="gemma3",endpoint="/api/generate"} 1',
      'ollama_response_seconds_bucket{model="llama3.2",endpoint="/api/chat",le="0.1"} 3 ' +
        `# {trace_id="${TRACE_C}"} 0.07 1767323045.125`,
      'ollama_response_seconds_bucket{model="llama3.2",endpoint="/api/chat",le="0.5"} 4 ' +
        `# {trace_id="${TRACE_B}"} 0.42 1767323045.124`,
      'ollama_response_seconds_bucket{model="llama3.2",endpoint="/api/chat",le="1.0"} 5',
      'ollama_response_seconds_bucket{model="llama3.2",endpoint="/api/chat",le="+Inf"} 6 ' +
        `# {trace_id="${TRACE_D}"} 12.5 1767323046`,
      'ollama_response_seconds_sum{model="llama3.2",endpoint="/api/chat"} 13.87',
      'ollama_response_seconds_count{model="llama3.2",endpoint="/api/chat"} 6',
      "# EOF",
    ),
  );
});

Deno.test("the text format 0.0.4 never carries exemplars", async () => {
  const registry = new Registry();
  const histogram = responseSeconds(registry);
  const chat = histogram.labels("llama3.2", "/api/chat");
  chat.observe(0.05, trace(TRACE_A, T0));
  chat.observe(3, trace(TRACE_B, T0));
  assert.equal(
    encodeText(await registry.collect()),
    lines(
      "# HELP ollama_response_seconds Time to the last byte.",
      "# TYPE ollama_response_seconds histogram",
      'ollama_response_seconds_bucket{model="llama3.2",endpoint="/api/chat",le="0.1"} 1',
      'ollama_response_seconds_bucket{model="llama3.2",endpoint="/api/chat",le="0.5"} 1',
      'ollama_response_seconds_bucket{model="llama3.2",endpoint="/api/chat",le="1.0"} 1',
      'ollama_response_seconds_bucket{model="llama3.2",endpoint="/api/chat",le="+Inf"} 2',
      'ollama_response_seconds_sum{model="llama3.2",endpoint="/api/chat"} 3.05',
      'ollama_response_seconds_count{model="llama3.2",endpoint="/api/chat"} 2',
    ),
  );
});

Deno.test("/metrics: exemplars for an OpenMetrics scraper, none for a text one", async () => {
  const registry = new Registry();
  registry.histogram({ name: "app_seconds", help: "Seconds.", buckets: [1] })
    .observe(0.5, trace(TRACE_A, T0));
  const scrape = async (accept: string) => {
    const response = await metricsResponse(
      registry,
      new Request("http://exporter/metrics", { headers: { accept } }),
    );
    return { type: response.headers.get("content-type"), body: await response.text() };
  };
  const bucket = `app_seconds_bucket{le="1.0"} 1 # {trace_id="${TRACE_A}"} 0.5 1767323045.123\n`;
  const prometheusAccept = "application/openmetrics-text;version=1.0.0," +
    "application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
  const om = await scrape(prometheusAccept);
  assert.equal(om.type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  assert.ok(om.body.includes(bucket), om.body);
  const text = await scrape("text/plain;version=0.0.4");
  assert.equal(text.type, "text/plain; version=0.0.4; charset=utf-8");
  assert.ok(text.body.includes('app_seconds_bucket{le="1.0"} 1\n'), text.body);
  assert.ok(!text.body.includes("trace_id"), text.body);
});

Deno.test("exemplar labels are escaped like series labels, in the order given", async () => {
  const registry = new Registry();
  const histogram = registry.histogram({
    name: "app_seconds",
    help: "Seconds.",
    labelNames: ["model"],
    buckets: [1, 2],
  });
  const child = histogram.labels('say "hi"');
  child.observe(0.25, {
    labels: { trace_id: 'q"uote\\back\nline', span_id: "日本語 😀", a: "" },
    timestamp: T0,
  });
  child.observe(1.5, { labels: {}, timestamp: 0 });
  assert.equal(
    encodeOpenMetrics(await registry.collect()),
    lines(
      "# HELP app_seconds Seconds.",
      "# TYPE app_seconds histogram",
      'app_seconds_bucket{model="say \\"hi\\"",le="1.0"} 1 ' +
        '# {trace_id="q\\"uote\\\\back\\nline",span_id="日本語 😀",a=""} 0.25 1767323045.123',
      'app_seconds_bucket{model="say \\"hi\\"",le="2.0"} 2 # {} 1.5 0',
      'app_seconds_bucket{model="say \\"hi\\"",le="+Inf"} 2',
      'app_seconds_sum{model="say \\"hi\\""} 1.75',
      'app_seconds_count{model="say \\"hi\\""} 2',
      "# EOF",
    ),
  );
});

Deno.test("timestamps: Date.now() when absent, rounded to the millisecond when given", () => {
  const histogram = new Histogram({ name: "app_seconds", help: "Seconds.", buckets: [1, 2, 3] });
  const before = Date.now();
  histogram.observe(0.5, { labels: { trace_id: TRACE_A } });
  const after = Date.now();
  histogram.observe(1.5, { labels: { trace_id: TRACE_B }, timestamp: 1_767_323_045_123.6 });
  histogram.observe(2.5, { labels: { trace_id: TRACE_C }, timestamp: 1_767_323_045_123.4 });
  const [first, second, third, inf] = histogram.snapshot().series[0]?.exemplars ?? [];
  assert.ok(
    first !== undefined && first.timestamp >= before && first.timestamp <= after,
    `${first?.timestamp} not in [${before}, ${after}]`,
  );
  assert.deepEqual(second, {
    labelText: `trace_id="${TRACE_B}"`,
    value: 1.5,
    timestamp: 1_767_323_045_124,
  });
  assert.equal(third?.timestamp, 1_767_323_045_123);
  assert.equal(inf, undefined);
});

Deno.test(`exemplar labels: at most ${EXEMPLAR_MAX_RUNES} code points of names and values`, () => {
  assert.equal(EXEMPLAR_MAX_RUNES, 128);
  const histogram = new Histogram({ name: "app_seconds", help: "Seconds.", buckets: [1, 2] });
  const exemplars = () => histogram.snapshot().series[0]?.exemplars ?? [];
  // "trace_id" is 8 characters: 120 more make exactly 128.
  histogram.observe(0.5, { labels: { trace_id: "x".repeat(120) }, timestamp: T0 });
  assert.equal(exemplars()[0]?.labelText, `trace_id="${"x".repeat(120)}"`);
  // 129: dropped, the observation counted, the bucket keeps its previous exemplar.
  histogram.observe(0.6, { labels: { trace_id: "y".repeat(121) }, timestamp: T0 });
  histogram.observe(0.7, { labels: { trace: "z".repeat(60), id: "z".repeat(62) }, timestamp: T0 });
  assert.equal(exemplars()[0]?.value, 0.5);
  assert.equal(histogram.labels().count, 3);
  // Code points, not UTF-16 units or bytes: 120 emoji (240 units, 480 bytes) fit.
  histogram.observe(1.5, { labels: { trace_id: "😀".repeat(120) }, timestamp: T0 });
  assert.equal(exemplars()[1]?.labelText, `trace_id="${"😀".repeat(120)}"`);
  histogram.observe(1.6, { labels: { trace_id: "😀".repeat(121) }, timestamp: T0 });
  assert.equal(exemplars()[1]?.value, 1.5);
  // A lone surrogate counts as one (it is written as U+FFFD).
  histogram.observe(1.7, { labels: { trace_id: "\ud800".repeat(120) }, timestamp: T0 });
  assert.equal(exemplars()[1]?.value, 1.7);
  assert.equal(histogram.labels().count, 6);
});

Deno.test("an invalid exemplar is dropped, never thrown; the observation still counts", async () => {
  const registry = new Registry();
  const histogram = registry.histogram({ name: "app_seconds", help: "Seconds.", buckets: [1] });
  histogram.observe(0.5, trace(TRACE_A, T0));
  const invalid: unknown[] = [
    { labels: { "trace-id": TRACE_B } },
    { labels: { "1trace": TRACE_B } },
    { labels: { "": TRACE_B } },
    { labels: { __trace_id: TRACE_B } },
    { labels: { "trace_id": 42 } },
    { labels: { trace_id: TRACE_B, ok: undefined } },
    { labels: null },
    { labels: "trace_id=1" },
    {},
    { labels: { trace_id: TRACE_B }, timestamp: NaN },
    { labels: { trace_id: TRACE_B }, timestamp: Infinity },
    { labels: { trace_id: TRACE_B }, timestamp: "1767323045123" },
    { labels: { trace_id: TRACE_B }, timestamp: null },
    null,
    "trace",
    42,
    {
      get labels(): never {
        throw new Error("a hostile getter");
      },
    },
    {
      labels: new Proxy({}, {
        ownKeys: () => {
          throw new Error("a hostile proxy");
        },
      }),
    },
  ];
  for (const exemplar of invalid) {
    histogram.observe(0.25, exemplar as Exemplar);
  }
  // NaN and ±Infinity are not observed, and so their exemplars are not kept either.
  histogram.observe(NaN, trace(TRACE_C, T0));
  histogram.observe(-Infinity, trace(TRACE_C, T0));
  assert.equal(histogram.labels().count, 1 + invalid.length);
  assert.equal(
    encodeOpenMetrics(await registry.collect()),
    lines(
      "# HELP app_seconds Seconds.",
      "# TYPE app_seconds histogram",
      `app_seconds_bucket{le="1.0"} ${
        1 + invalid.length
      } # {trace_id="${TRACE_A}"} 0.5 1767323045.123`,
      `app_seconds_bucket{le="+Inf"} ${1 + invalid.length}`,
      `app_seconds_sum 5`,
      `app_seconds_count ${1 + invalid.length}`,
      "# EOF",
    ),
  );
});

Deno.test("the kept exemplar is a copy: changing the caller's labels later changes nothing", () => {
  const histogram = new Histogram({ name: "app_seconds", help: "Seconds.", buckets: [1] });
  const labels: Record<string, string> = { trace_id: TRACE_A };
  histogram.observe(0.5, { labels, timestamp: T0 });
  labels.trace_id = "x".repeat(500);
  labels.extra = "y";
  assert.deepEqual(histogram.snapshot().series[0]?.exemplars, [
    { labelText: `trace_id="${TRACE_A}"`, value: 0.5, timestamp: T0 },
    undefined,
  ]);
});

Deno.test("reset and remove clear exemplars", async () => {
  const registry = new Registry();
  const unlabelled = registry.histogram({ name: "app_a_seconds", help: "A.", buckets: [1] });
  const labelled = registry.histogram({
    name: "app_b_seconds",
    help: "B.",
    labelNames: ["model"],
    buckets: [1],
  });
  unlabelled.observe(0.5, trace(TRACE_A, T0));
  const detached = labelled.labels("m");
  detached.observe(0.5, trace(TRACE_B, T0));
  labelled.labels("n").observe(2, trace(TRACE_C, T0));
  assert.equal((await registry.collect()).flatMap((f) => f.series).length, 3);
  assert.equal((encodeOpenMetrics(await registry.collect()).match(/ # \{/g) ?? []).length, 3);

  unlabelled.reset();
  labelled.remove("m");
  detached.observe(0.25, trace(TRACE_D, T0)); // detached: not exported
  assert.equal(
    encodeOpenMetrics(await registry.collect()),
    lines(
      "# HELP app_a_seconds A.",
      "# TYPE app_a_seconds histogram",
      'app_a_seconds_bucket{le="1.0"} 0',
      'app_a_seconds_bucket{le="+Inf"} 0',
      "app_a_seconds_sum 0",
      "app_a_seconds_count 0",
      "# HELP app_b_seconds B.",
      "# TYPE app_b_seconds histogram",
      'app_b_seconds_bucket{model="n",le="1.0"} 0',
      `app_b_seconds_bucket{model="n",le="+Inf"} 1 # {trace_id="${TRACE_C}"} 2 1767323045.123`,
      'app_b_seconds_sum{model="n"} 2',
      'app_b_seconds_count{model="n"} 1',
      "# EOF",
    ),
  );
  // Re-created after remove: a new child without the old exemplar.
  labelled.labels("m").observe(3);
  labelled.reset();
  labelled.labels("n").observe(4);
  const after = encodeOpenMetrics(await registry.collect());
  assert.ok(!after.includes(" # {"), after);
  assert.deepEqual(unlabelled.snapshot().series[0]?.exemplars, []);
});

Deno.test("OpenMetrics: exemplars on a histogram with a negative bound (no _sum)", async () => {
  const registry = new Registry();
  registry.histogram({ name: "app_delta", help: "Delta.", buckets: [-1, 1] })
    .observe(-3, trace(TRACE_A, T0));
  assert.equal(
    encodeOpenMetrics(await registry.collect()),
    lines(
      "# HELP app_delta Delta.",
      "# TYPE app_delta histogram",
      `app_delta_bucket{le="-1.0"} 1 # {trace_id="${TRACE_A}"} -3 1767323045.123`,
      'app_delta_bucket{le="1.0"} 1',
      'app_delta_bucket{le="+Inf"} 1',
      "app_delta_count 1",
      "# EOF",
    ),
  );
});
