import assert from "node:assert/strict";
import { Counter } from "../lib/metrics/counter.ts";
import { Gauge } from "../lib/metrics/gauge.ts";
import { Histogram } from "../lib/metrics/histogram.ts";
import { formatBucketBound } from "../lib/metrics/format_bucket_bound.ts";
import { encodeOpenMetrics } from "../lib/metrics/open_metrics_format.ts";
import { Registry } from "../lib/metrics/registry.ts";
import { encodeText } from "../lib/metrics/text_format.ts";

async function text(registry: Registry): Promise<string> {
  return encodeText(await registry.collect());
}

async function openMetrics(registry: Registry): Promise<string> {
  return encodeOpenMetrics(await registry.collect());
}

function lines(...all: string[]): string {
  return all.map((line) => `${line}\n`).join("");
}

// ---------------------------------------------------------------------------------------------
// Exposition, Prometheus text 0.0.4

Deno.test("counter without labels: starts at 0 and counts", async () => {
  const registry = new Registry();
  const counter = registry.counter({ name: "app_requests_total", help: "Requests served." });
  assert.equal(
    await text(registry),
    lines(
      "# HELP app_requests_total Requests served.",
      "# TYPE app_requests_total counter",
      "app_requests_total 0",
    ),
  );
  counter.inc();
  counter.inc(2.5);
  counter.labels().inc(0);
  assert.equal(counter.labels().value, 3.5);
  assert.equal(
    await text(registry),
    lines(
      "# HELP app_requests_total Requests served.",
      "# TYPE app_requests_total counter",
      "app_requests_total 3.5",
    ),
  );
});

Deno.test("counter with labels: children sorted by label values, cached per value set", async () => {
  const registry = new Registry();
  const counter = registry.counter({
    name: "app_requests_total",
    help: "Requests served.",
    labelNames: ["model", "endpoint"],
  });
  const chat = counter.labels("llama3.2", "/api/chat");
  chat.inc();
  counter.labels("gemma3", "/api/generate").inc(4);
  counter.labels("llama3.2", "/api/chat").inc();
  counter.labels("gemma3", "/api/chat").inc();
  assert.equal(counter.labels("llama3.2", "/api/chat"), chat);
  assert.equal(
    await text(registry),
    lines(
      "# HELP app_requests_total Requests served.",
      "# TYPE app_requests_total counter",
      'app_requests_total{model="gemma3",endpoint="/api/chat"} 1',
      'app_requests_total{model="gemma3",endpoint="/api/generate"} 4',
      'app_requests_total{model="llama3.2",endpoint="/api/chat"} 2',
    ),
  );
});

Deno.test("gauge: set, inc, dec, and the special values", async () => {
  const registry = new Registry();
  const gauge = registry.gauge({
    name: "app_temperature_celsius",
    help: "Temperature.",
    labelNames: ["room"],
  });
  gauge.labels("a").set(21.5);
  gauge.labels("b").inc();
  gauge.labels("b").inc(2);
  gauge.labels("b").dec(0.5);
  gauge.labels("c").dec();
  gauge.labels("d").set(Infinity);
  gauge.labels("e").set(-Infinity);
  gauge.labels("f").set(NaN);
  gauge.labels("g").set(1e21);
  gauge.labels("h").set(-0.000001);
  assert.equal(
    await text(registry),
    lines(
      "# HELP app_temperature_celsius Temperature.",
      "# TYPE app_temperature_celsius gauge",
      'app_temperature_celsius{room="a"} 21.5',
      'app_temperature_celsius{room="b"} 2.5',
      'app_temperature_celsius{room="c"} -1',
      'app_temperature_celsius{room="d"} +Inf',
      'app_temperature_celsius{room="e"} -Inf',
      'app_temperature_celsius{room="f"} NaN',
      'app_temperature_celsius{room="g"} 1e+21',
      'app_temperature_celsius{room="h"} -0.000001',
    ),
  );
  const plain = registry.gauge({ name: "app_loaded", help: "Loaded." });
  plain.set(3);
  plain.inc();
  plain.dec(2);
  assert.equal(plain.labels().value, 2);
});

Deno.test("histogram: cumulative buckets, +Inf equals _count, le after the user labels", async () => {
  const registry = new Registry();
  const histogram = registry.histogram({
    name: "app_duration_seconds",
    help: "Durations.",
    labelNames: ["model"],
    buckets: [0.005, 0.5, 1, 10],
  });
  const child = histogram.labels("m");
  for (const value of [0.001, 0.005, 0.2, 0.7, 1, 3, 60]) child.observe(value);
  assert.equal(child.count, 7);
  assert.equal(child.sum, 64.906);
  assert.equal(
    await text(registry),
    lines(
      "# HELP app_duration_seconds Durations.",
      "# TYPE app_duration_seconds histogram",
      'app_duration_seconds_bucket{model="m",le="0.005"} 2',
      'app_duration_seconds_bucket{model="m",le="0.5"} 3',
      'app_duration_seconds_bucket{model="m",le="1.0"} 5',
      'app_duration_seconds_bucket{model="m",le="10.0"} 6',
      'app_duration_seconds_bucket{model="m",le="+Inf"} 7',
      'app_duration_seconds_sum{model="m"} 64.906',
      'app_duration_seconds_count{model="m"} 7',
    ),
  );
});

Deno.test("histogram without labels: present with zeros from the start", async () => {
  const registry = new Registry();
  const histogram = registry.histogram({
    name: "app_size_bytes",
    help: "Sizes.",
    buckets: [100, 1e6],
  });
  assert.equal(
    await text(registry),
    lines(
      "# HELP app_size_bytes Sizes.",
      "# TYPE app_size_bytes histogram",
      'app_size_bytes_bucket{le="100.0"} 0',
      'app_size_bytes_bucket{le="1e+06"} 0',
      'app_size_bytes_bucket{le="+Inf"} 0',
      "app_size_bytes_sum 0",
      "app_size_bytes_count 0",
    ),
  );
  histogram.observe(100);
  histogram.observe(100.5);
  assert.match(await text(registry), /app_size_bytes_bucket\{le="100.0"\} 1\n.*le="1e\+06"\} 2\n/);
});

Deno.test("histogram: observe ignores NaN and ±Infinity; negative values land in the first bucket", () => {
  const histogram = new Histogram({ name: "h_seconds", help: "h", buckets: [0, 1] });
  const child = histogram.labels();
  child.observe(NaN);
  child.observe(Infinity);
  child.observe(-Infinity);
  assert.equal(child.count, 0);
  assert.equal(child.sum, 0);
  child.observe(-2);
  child.observe(0);
  child.observe(1);
  child.observe(1.0000001);
  const snapshot = histogram.snapshot();
  assert.deepEqual(snapshot.series[0]?.bucketCounts, [2, 1, 1]);
  assert.deepEqual(snapshot.buckets, [0, 1]);
});

Deno.test("escaping: label values with quotes, backslashes, newlines and unicode; HELP text", async () => {
  const registry = new Registry();
  const counter = registry.counter({
    name: "app_requests_total",
    help: 'Requests per "model".\nSecond line with a \\ backslash.',
    labelNames: ["model"],
  });
  counter.labels('evil"model').inc();
  counter.labels("back\\slash").inc();
  counter.labels("new\nline").inc();
  counter.labels("llama3.2:😀-ünïcödé/日本").inc();
  counter.labels("tab\there").inc();
  const expectedSamples = [
    'app_requests_total{model="back\\\\slash"} 1',
    'app_requests_total{model="evil\\"model"} 1',
    'app_requests_total{model="llama3.2:😀-ünïcödé/日本"} 1',
    'app_requests_total{model="new\\nline"} 1',
    'app_requests_total{model="tab\there"} 1',
  ];
  assert.equal(
    await text(registry),
    lines(
      '# HELP app_requests_total Requests per "model".\\nSecond line with a \\\\ backslash.',
      "# TYPE app_requests_total counter",
      ...expectedSamples,
    ),
  );
  assert.equal(
    await openMetrics(registry),
    lines(
      '# HELP app_requests Requests per \\"model\\".\\nSecond line with a \\\\ backslash.',
      "# TYPE app_requests counter",
      ...expectedSamples,
      "# EOF",
    ),
  );
});

Deno.test("empty labelled families keep HELP and TYPE and have no samples", async () => {
  const registry = new Registry();
  registry.counter({ name: "a_total", help: "A.", labelNames: ["x"] });
  registry.gauge({ name: "b", help: "B.", labelNames: ["x"] });
  registry.histogram({ name: "c_seconds", help: "C.", labelNames: ["x"], buckets: [1] });
  assert.equal(
    await text(registry),
    lines(
      "# HELP a_total A.",
      "# TYPE a_total counter",
      "# HELP b B.",
      "# TYPE b gauge",
      "# HELP c_seconds C.",
      "# TYPE c_seconds histogram",
    ),
  );
  assert.equal(
    await openMetrics(registry),
    lines(
      "# HELP a A.",
      "# TYPE a counter",
      "# HELP b B.",
      "# TYPE b gauge",
      "# HELP c_seconds C.",
      "# TYPE c_seconds histogram",
      "# EOF",
    ),
  );
});

Deno.test("an empty registry encodes to nothing (text) and # EOF (OpenMetrics)", async () => {
  const registry = new Registry();
  assert.equal(await text(registry), "");
  assert.equal(await openMetrics(registry), "# EOF\n");
});

Deno.test("families are rendered sorted by name whatever the registration order", async () => {
  const registry = new Registry();
  registry.gauge({ name: "zeta", help: "Z." });
  registry.counter({ name: "alpha_total", help: "A." });
  registry.gauge({ name: "Mid", help: "M." });
  registry.gauge({ name: "beta", help: "B." });
  assert.deepEqual(registry.names(), ["Mid", "alpha_total", "beta", "zeta"]);
  const names = (await registry.collect()).map((family) => family.name);
  assert.deepEqual(names, ["Mid", "alpha_total", "beta", "zeta"]);
  assert.equal(registry.unregister("beta"), true);
  assert.equal(registry.unregister("beta"), false);
  assert.deepEqual(registry.names(), ["Mid", "alpha_total", "zeta"]);
});

// ---------------------------------------------------------------------------------------------
// OpenMetrics

Deno.test("OpenMetrics: counter family without _total, samples with it, histogram, # EOF", async () => {
  const registry = new Registry();
  registry.counter({ name: "app_tokens_total", help: "Tokens.", labelNames: ["model"] })
    .labels("m").inc(42);
  registry.gauge({ name: "app_up", help: "Up." }).set(1);
  const histogram = registry.histogram({
    name: "app_duration_seconds",
    help: "Durations.",
    buckets: [0.1, 1],
  });
  histogram.observe(0.05);
  histogram.observe(2);
  assert.equal(
    await openMetrics(registry),
    lines(
      "# HELP app_duration_seconds Durations.",
      "# TYPE app_duration_seconds histogram",
      'app_duration_seconds_bucket{le="0.1"} 1',
      'app_duration_seconds_bucket{le="1.0"} 1',
      'app_duration_seconds_bucket{le="+Inf"} 2',
      "app_duration_seconds_sum 2.05",
      "app_duration_seconds_count 2",
      "# HELP app_tokens Tokens.",
      "# TYPE app_tokens counter",
      'app_tokens_total{model="m"} 42',
      "# HELP app_up Up.",
      "# TYPE app_up gauge",
      "app_up 1",
      "# EOF",
    ),
  );
});

Deno.test("OpenMetrics: a histogram with a negative bound has no _sum", async () => {
  const registry = new Registry();
  registry.histogram({ name: "app_delta", help: "Delta.", buckets: [-1, 1] }).observe(-3);
  const body = await openMetrics(registry);
  assert.doesNotMatch(body, /_sum/);
  assert.match(body, /app_delta_count 1\n/);
  assert.match(await text(registry), /app_delta_sum -3\n/);
});

// ---------------------------------------------------------------------------------------------
// le formatting

Deno.test("le values follow Prometheus 3's normalization (Go %g, .0 on integers)", () => {
  const cases: [number, string][] = [
    [0, "0.0"],
    [1, "1.0"],
    [-1, "-1.0"],
    [10, "10.0"],
    [0.005, "0.005"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [0.000015, "1.5e-05"],
    [2.5, "2.5"],
    [100000, "100000.0"],
    [131072, "131072.0"],
    [999999, "999999.0"],
    [1000000, "1e+06"],
    [1234567, "1.234567e+06"],
    [1e21, "1e+21"],
    [1e100, "1e+100"],
    [-0.25, "-0.25"],
    [327.68, "327.68"],
    [Infinity, "+Inf"],
  ];
  for (const [bound, expected] of cases) {
    assert.equal(formatBucketBound(bound), expected, `${bound}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Validation

Deno.test("validation: bad metric and label names", () => {
  assert.throws(
    () => new Gauge({ name: "bad-name", help: "x" }),
    { name: "TypeError", message: /Cannot register metric "bad-name": the name must match/ },
  );
  assert.throws(
    () => new Gauge({ name: "ok", help: "x", labelNames: ["bad-label"] }),
    { name: "TypeError", message: /label name "bad-label" must match/ },
  );
  assert.throws(
    () => new Gauge({ name: "ok", help: "x", labelNames: ["__reserved"] }),
    { name: "TypeError", message: /"__reserved" is reserved/ },
  );
  assert.throws(
    () => new Gauge({ name: "ok", help: "x", labelNames: ["a", "a"] }),
    { name: "TypeError", message: /"a" is repeated/ },
  );
  assert.throws(
    () => new Gauge({ name: "ok", help: "  " }),
    { name: "TypeError", message: /Cannot register metric "ok": the help text is empty/ },
  );
});

Deno.test("validation: counters must end in _total, others must not use sample suffixes", () => {
  assert.throws(
    () => new Counter({ name: "app_requests", help: "x" }),
    { name: "TypeError", message: /Cannot register counter "app_requests": .* end in "_total"/ },
  );
  assert.throws(() => new Counter({ name: "_total", help: "x" }), TypeError);
  for (const name of ["g_total", "g_count", "g_sum", "g_bucket", "g_created"]) {
    assert.throws(
      () => new Gauge({ name, help: "x" }),
      { name: "TypeError", message: new RegExp(`Cannot register gauge "${name}": the suffix`) },
    );
    assert.throws(() => new Histogram({ name, help: "x", buckets: [1] }), TypeError);
  }
});

Deno.test("validation: le and quantile are reserved label names", () => {
  assert.throws(
    () => new Histogram({ name: "h", help: "x", labelNames: ["model", "le"], buckets: [1] }),
    {
      name: "TypeError",
      message: 'Cannot register metric "h": label name "le" is reserved by the exposition formats',
    },
  );
  assert.throws(() => new Gauge({ name: "g", help: "x", labelNames: ["le"] }), /"le" is reserved/);
  assert.throws(
    () => new Counter({ name: "c_total", help: "x", labelNames: ["quantile"] }),
    /"quantile" is reserved/,
  );
});

Deno.test("validation: bad buckets", () => {
  const cases: [unknown, RegExp][] = [
    [[], /buckets must be a non-empty array/],
    [undefined, /buckets must be a non-empty array/],
    [[1, 1], /bucket 1 \(1\) is not greater than bucket 0 \(1\)/],
    [[2, 1], /bucket 1 \(1\) is not greater than bucket 0 \(2\)/],
    [[1, Infinity], /bucket 1 is Infinity; bounds must be finite numbers \(\+Inf is implicit\)/],
    [[NaN], /bucket 0 is NaN/],
    [["1"], /bucket 0 is 1; bounds must be finite numbers/],
  ];
  for (const [buckets, message] of cases) {
    assert.throws(
      () => new Histogram({ name: "h", help: "x", buckets: buckets as number[] }),
      { name: "TypeError", message },
      String(buckets),
    );
  }
  const buckets = [1, 2];
  const histogram = new Histogram({ name: "h", help: "x", buckets });
  buckets.push(3);
  assert.deepEqual(histogram.buckets, [1, 2], "the histogram keeps its own copy");
});

Deno.test("validation: counters only go up", () => {
  const counter = new Counter({ name: "c_total", help: "x", labelNames: ["a"] });
  const child = counter.labels("x");
  for (const bad of [-1, -0.001, NaN, Infinity, -Infinity]) {
    assert.throws(
      () => child.inc(bad),
      {
        name: "RangeError",
        message: new RegExp(`Cannot increment counter "c_total" by ${bad}: a counter only goes up`),
      },
    );
  }
  assert.equal(child.value, 0);
});

Deno.test("validation: wrong label arity and non-string values", () => {
  const counter = new Counter({ name: "c_total", help: "x", labelNames: ["model", "endpoint"] });
  assert.throws(
    () => counter.labels("only-one"),
    {
      name: "TypeError",
      message:
        'Cannot get a child of metric "c_total": expected 2 label value(s) (model, endpoint), got 1',
    },
  );
  assert.throws(() => counter.labels("a", "b", "c"), TypeError);
  assert.throws(() => counter.remove("a"), /Cannot remove a child of metric "c_total"/);
  assert.throws(
    () => counter.inc(),
    {
      name: "TypeError",
      message: /Cannot increment counter "c_total": it has labels \(model, endpoint\)/,
    },
  );
  assert.throws(
    () => counter.labels("a", 7 as unknown as string),
    { name: "TypeError", message: /the value of label "endpoint" must be a string, got number/ },
  );
  const plain = new Gauge({ name: "g", help: "x" });
  assert.throws(() => plain.labels("extra"), /expected 0 label value\(s\) \(none\), got 1/);
  const histogram = new Histogram({ name: "h", help: "x", labelNames: ["m"], buckets: [1] });
  assert.throws(() => histogram.observe(1), /Cannot observe histogram "h": it has labels/);
  assert.throws(() => new Gauge({ name: "g", help: "x", labelNames: ["m"] }).set(1), TypeError);
});

Deno.test("validation: duplicate registration and clashing sample names", () => {
  const registry = new Registry();
  registry.counter({ name: "app_requests_total", help: "x" });
  assert.throws(
    () => registry.counter({ name: "app_requests_total", help: "y" }),
    {
      name: "Error",
      message: 'Cannot register metric "app_requests_total": a metric with this name is already ' +
        "registered",
    },
  );
  assert.throws(
    () => registry.gauge({ name: "app_requests", help: "y" }),
    /Cannot register metric "app_requests": it would expose "app_requests", which metric "app_requests_total" already exposes/,
  );
  registry.histogram({ name: "app_latency", help: "x", buckets: [1] });
  assert.throws(
    () => registry.counter({ name: "app_latency_total", help: "y" }),
    /it would expose "app_latency", which metric "app_latency" already exposes/,
  );
  assert.deepEqual(registry.names(), ["app_latency", "app_requests_total"]);
  registry.unregister("app_latency");
  registry.counter({ name: "app_latency_total", help: "y" });
  const family = new Gauge({ name: "same", help: "x" });
  registry.register(family);
  assert.throws(() => registry.register(family), /already registered/);
});

// ---------------------------------------------------------------------------------------------
// Children: remove and reset

Deno.test("remove and reset", async () => {
  const registry = new Registry();
  const gauge = registry.gauge({ name: "g", help: "G.", labelNames: ["a", "b"] });
  gauge.labels("x", "1").set(1);
  gauge.labels("x", "2").set(2);
  gauge.labels("y", "1").set(3);
  gauge.remove("x", "1");
  gauge.remove("nope", "1");
  assert.equal(
    await text(registry),
    lines(
      "# HELP g G.",
      "# TYPE g gauge",
      'g{a="x",b="2"} 2',
      'g{a="y",b="1"} 3',
    ),
  );
  assert.equal(gauge.labels("x", "1").value, 0, "a removed child comes back fresh");
  gauge.remove("y", "1");
  gauge.labels("y", "3").set(4);
  assert.deepEqual(
    gauge.snapshot().series.map((series) => [...series.labelValues, series.value]),
    [["x", "1", 0], ["x", "2", 2], ["y", "3", 4]],
  );
  gauge.reset();
  assert.equal(await text(registry), lines("# HELP g G.", "# TYPE g gauge"));

  const counter = registry.counter({ name: "c_total", help: "C." });
  const child = counter.labels();
  counter.inc(5);
  counter.reset();
  assert.equal(child.value, 0, "the label-less child is zeroed in place");
  child.inc();
  assert.match(await text(registry), /\nc_total 1\n/);

  const histogram = registry.histogram({ name: "h", help: "H.", buckets: [1] });
  histogram.observe(0.5);
  histogram.reset();
  assert.match(await text(registry), /h_bucket\{le="\+Inf"\} 0\nh_sum 0\nh_count 0\n/);
});

Deno.test("a snapshot keeps the children it was taken with", () => {
  const gauge = new Gauge({ name: "g", help: "G.", labelNames: ["a"] });
  gauge.labels("x").set(1);
  const snapshot = gauge.snapshot();
  gauge.labels("y").set(2);
  gauge.remove("x");
  assert.deepEqual(snapshot.series.map((series) => series.labelValues), [["x"]]);
  assert.equal(snapshot.series[0]?.labelText, 'a="x"');
  assert.equal(gauge.snapshot().series.length, 1);
});

// ---------------------------------------------------------------------------------------------
// Collect callbacks

Deno.test("collect callbacks run at every collect, async ones concurrently", async () => {
  const registry = new Registry();
  let calls = 0;
  const order: string[] = [];
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  registry.gauge({
    name: "slow",
    help: "Slow.",
    collect: async (gauge) => {
      order.push("slow start");
      await sleep(40);
      gauge.set(++calls);
      order.push("slow end");
    },
  });
  registry.counter({
    name: "also_slow_total",
    help: "Also slow.",
    labelNames: ["k"],
    collect: async (counter) => {
      order.push("also slow start");
      await sleep(20);
      counter.labels("v").inc();
      order.push("also slow end");
    },
  });
  registry.histogram({
    name: "sync_seconds",
    help: "Sync.",
    buckets: [1],
    collect: (histogram) => histogram.observe(0.5),
  });
  const body = await text(registry);
  assert.deepEqual(order, ["also slow start", "slow start", "also slow end", "slow end"]);
  assert.match(body, /\nslow 1\n/);
  assert.match(body, /\nalso_slow_total\{k="v"\} 1\n/);
  assert.match(body, /\nsync_seconds_count 1\n/);
  assert.match(await text(registry), /\nslow 2\n/);
});

Deno.test("a throwing or rejecting collect callback does not break the scrape", async () => {
  const errors: [string, unknown][] = [];
  const registry = new Registry({ onCollectError: (name, error) => errors.push([name, error]) });
  const failure = new Error("Ollama is down");
  const broken = registry.gauge({
    name: "broken_sync",
    help: "B.",
    collect: () => {
      throw failure;
    },
  });
  broken.set(7);
  registry.gauge({
    name: "broken_async",
    help: "B.",
    labelNames: ["m"],
    collect: async () => {
      await Promise.resolve();
      throw new TypeError("bad JSON");
    },
  }).labels("kept").set(3);
  registry.gauge({ name: "fine", help: "F.", collect: (gauge) => gauge.set(1) });
  assert.equal(
    await text(registry),
    lines(
      "# HELP broken_async B.",
      "# TYPE broken_async gauge",
      'broken_async{m="kept"} 3',
      "# HELP broken_sync B.",
      "# TYPE broken_sync gauge",
      "broken_sync 7",
      "# HELP fine F.",
      "# TYPE fine gauge",
      "fine 1",
    ),
  );
  assert.deepEqual(errors.map(([name]) => name), ["broken_sync", "broken_async"]);
  assert.equal(errors[0]?.[1], failure);
  assert.ok(errors[1]?.[1] instanceof TypeError);
});

Deno.test("a collect callback that never finishes is cut off after collectTimeoutMs", async () => {
  const errors: string[] = [];
  const registry = new Registry({
    collectTimeoutMs: 20,
    onCollectError: (name, error) => errors.push(`${name}: ${(error as Error).message}`),
  });
  let release: () => void = () => {};
  const hanging = new Promise<void>((resolve) => release = resolve);
  registry.gauge({ name: "hangs", help: "H.", collect: () => hanging }).set(4);
  const started = performance.now();
  assert.match(await text(registry), /\nhangs 4\n/);
  assert.ok(performance.now() - started < 1000);
  assert.deepEqual(errors, ["hangs: the collect callback did not finish within 20 ms"]);
  release();
  assert.throws(() => new Registry({ collectTimeoutMs: 0 }), RangeError);
});

Deno.test("concurrent collects share one run of the callbacks; an error reporter may throw", async () => {
  let calls = 0;
  const registry = new Registry({
    onCollectError: () => {
      throw new Error("reporter broken");
    },
  });
  registry.gauge({
    name: "counted",
    help: "C.",
    collect: async (gauge) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      gauge.set(++calls);
    },
  });
  registry.gauge({
    name: "failing",
    help: "F.",
    collect: () => {
      throw new Error("no");
    },
  });
  const [a, b] = await Promise.all([registry.collect(), registry.collect()]);
  assert.equal(calls, 1);
  assert.notEqual(a, b, "each caller gets its own array");
  assert.equal(encodeText(a ?? []), encodeText(b ?? []));
  await registry.collect();
  assert.equal(calls, 2);
});

Deno.test("the default error reporter writes to console.error", async () => {
  const registry = new Registry();
  registry.gauge({
    name: "failing",
    help: "F.",
    collect: () => {
      throw new Error("no");
    },
  });
  const original = console.error;
  const logged: unknown[][] = [];
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    await registry.collect();
  } finally {
    console.error = original;
  }
  assert.equal(logged.length, 1);
  assert.match(String(logged[0]?.[0]), /Cannot collect metric "failing"/);
});

Deno.test("register accepts only the registry's family types", () => {
  const registry = new Registry();
  assert.throws(
    () => registry.register({ name: "fake" } as unknown as Gauge),
    /Cannot register metric: it is not a Counter, Gauge or Histogram/,
  );
});
