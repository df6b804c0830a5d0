/**
 * Histogram sums without floating-point noise: with `sumScale`, `_sum` is kept in whole units
 * (nanoseconds for the exporter's `_seconds` families) and rendered as the short decimal it is,
 * `0.007555911` rather than `0.007555910999999999`, `1000` rather than `1000.0000000001588`.
 */

import assert from "node:assert/strict";
import { NANOSECONDS, registerExporterMetrics } from "../lib/exporter_metrics.ts";
import { Logger } from "../lib/log.ts";
import { Histogram } from "../lib/metrics/histogram.ts";
import { encodeOpenMetrics } from "../lib/metrics/open_metrics_format.ts";
import { Registry } from "../lib/metrics/registry.ts";
import { encodeText } from "../lib/metrics/text_format.ts";
import { ModelLabels } from "../lib/model_labels.ts";
import { RequestObservation } from "../lib/observe/request_observation.ts";

/** Five durations as Ollama reports them, in nanoseconds; summed as floats they carry noise. */
const DURATIONS_NS = [1887167, 1125486, 2152466, 1541603, 849189];

function histogram(sumScale?: number): Histogram {
  return new Histogram({
    name: "x_seconds",
    help: "X.",
    buckets: [0.01, 1],
    ...(sumScale === undefined ? {} : { sumScale }),
  });
}

/** The `_sum` sample lines of the text format, for a registry holding `family`. */
function sumLines(family: Histogram): string[] {
  return encodeText([family.snapshot()]).split("\n").filter((line) => line.includes("_sum"));
}

Deno.test("sumScale 1e9: nanosecond durations sum to the exact decimal", () => {
  const plain = histogram();
  const exact = histogram(NANOSECONDS);
  for (const ns of DURATIONS_NS) {
    plain.observe(ns / 1e9);
    exact.observe(ns / 1e9);
  }
  assert.deepEqual(sumLines(plain), ["x_seconds_sum 0.007555910999999999"], "the noise it removes");
  assert.deepEqual(sumLines(exact), ["x_seconds_sum 0.007555911"]);
  assert.equal(exact.labels().count, 5);
  assert.equal(
    encodeOpenMetrics([exact.snapshot()]).split("\n").find((line) => line.includes("_sum")),
    "x_seconds_sum 0.007555911",
  );
});

Deno.test("sumScale: whole units carry over; many, negative and huge observations stay exact", () => {
  const tenths = histogram(NANOSECONDS);
  for (let i = 0; i < 10_000; i++) tenths.observe(0.1);
  assert.deepEqual(sumLines(tenths), ["x_seconds_sum 1000"]);

  const carried = histogram(NANOSECONDS);
  for (const value of [0.6, 0.6, 0.6]) carried.observe(value);
  assert.equal(carried.labels().sum, 1.8);
  carried.observe(-2.05);
  carried.observe(0.000000001);
  assert.deepEqual(sumLines(carried), ["x_seconds_sum -0.249999999"]);

  // Past 2^53 nanoseconds (104 days) of sum, whole seconds and the rest are added as a double.
  const long = histogram(NANOSECONDS);
  for (let i = 0; i < 1000; i++) long.observe(10_000_000);
  long.observe(0.5);
  assert.deepEqual(sumLines(long), ["x_seconds_sum 10000000000.5"]);

  // NaN and ±Infinity are still dropped; reset() zeroes the exact sum.
  long.observe(NaN);
  long.observe(Infinity);
  assert.equal(long.labels().count, 1001);
  long.reset();
  assert.deepEqual(sumLines(long), ["x_seconds_sum 0"]);
});

Deno.test("sumScale must be a positive safe integer", () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) {
    assert.throws(
      () => histogram(bad),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message.startsWith(`Cannot register histogram "x_seconds": sumScale is ${bad};`),
      String(bad),
    );
  }
  assert.equal(histogram().sumScale, 0);
  assert.equal(histogram(1000).sumScale, 1000);
});

Deno.test("the exporter's duration histograms render Ollama's nanoseconds exactly", async () => {
  const registry = new Registry();
  const metrics = registerExporterMetrics(registry);
  const sinks = {
    metrics,
    models: new ModelLabels({ max: 10 }),
    logger: new Logger("ERROR", { sink: () => {} }),
    clientLabel: false,
  };
  for (const ns of DURATIONS_NS) {
    const start = performance.now();
    const observation = new RequestObservation(sinks, {
      method: "POST",
      path: "/api/generate",
      endpoint: "/api/generate",
      model: "llama3.2:latest",
      start,
    });
    observation.stats({
      totalDurationNs: ns,
      loadDurationNs: ns,
      promptEvalDurationNs: ns,
      evalDurationNs: ns,
      promptTokens: 7,
      outputTokens: 11,
    });
    observation.finish(200, start + 1000 / 3);
  }
  const text = encodeText(await registry.collect());
  for (const name of ["total", "load", "prompt_eval", "eval"]) {
    assert.match(
      text,
      new RegExp(
        `^ollama_${name}_duration_seconds_sum\\{model="llama3.2:latest"\\} 0.007555911$`,
        "m",
      ),
    );
  }
  // The proxy's own timings are summed in whole nanoseconds too: 5 × 1/3 s.
  assert.match(
    text,
    /^ollama_response_seconds_sum\{model="llama3.2:latest",endpoint="\/api\/generate"\} 1.666666665$/m,
  );
  // Speeds are one division of integers: 9 tokens in 9 ms is 1000, not 1000.0000000000001.
  const speeds = new Registry();
  const speedMetrics = registerExporterMetrics(speeds);
  const observation = new RequestObservation({ ...sinks, metrics: speedMetrics }, {
    method: "POST",
    path: "/api/generate",
    endpoint: "/api/generate",
    model: "llama3.2:latest",
    start: performance.now(),
  });
  observation.stats({ promptTokens: 9, promptEvalDurationNs: 9_000_000 });
  observation.finish(200);
  assert.match(
    encodeText(await speeds.collect()),
    /^ollama_prompt_tokens_per_second_sum\{model="llama3.2:latest"\} 1000$/m,
  );

  const seconds = Object.values(metrics).filter((family): family is Histogram =>
    family instanceof Histogram && family.name.endsWith("_seconds")
  );
  assert.equal(seconds.length, 10);
  for (const family of seconds) assert.equal(family.sumScale, NANOSECONDS, family.name);
});
