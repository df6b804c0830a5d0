/**
 * Metrics registry benchmarks: rendering a registry the size this exporter will have, and the
 * cost of one observation on a cached child.
 *
 * Run: `deno bench bench/metrics_bench.ts` (no permissions needed).
 * Goals: a render (collect + encodeText) under 5 ms; an observation well under 1 µs. Operations
 * that take nanoseconds are run 1000 times per iteration: divide those figures by 1000.
 */

import { acceptsGzip, negotiateFormat } from "../lib/metrics/negotiate.ts";
import { metricsResponse } from "../lib/metrics/metrics_response.ts";
import { encodeOpenMetrics } from "../lib/metrics/open_metrics_format.ts";
import { Registry } from "../lib/metrics/registry.ts";
import { registerProcessMetrics } from "../lib/metrics/process_metrics.ts";
import { LATENCY_BUCKETS, registerExporterMetrics } from "../lib/exporter_metrics.ts";
import { encodeText } from "../lib/metrics/text_format.ts";

const MODELS = 100;
const ENDPOINTS = ["/api/chat", "/api/generate", "/v1/chat/completions"];
const BUCKETS = LATENCY_BUCKETS;

/** A value for each label name the exporter's families use. */
const LABEL_VALUES: Record<string, string> = {
  code: "200",
  client: "webui",
  reason: "upstream_error",
  action: "load",
  location: "vram",
};

/**
 * The exporter's real families (request, token and latency families with the `client` label on,
 * plus process metrics), every child populated for 100 models × `endpointsPerModel` endpoints.
 */
function exporterSizedRegistry(endpointsPerModel: number): Registry {
  const registry = new Registry();
  registerProcessMetrics(registry);
  const families = Object.values(registerExporterMetrics(registry, { clientLabel: true }));
  for (let m = 0; m < MODELS; m++) {
    const model = `model-${m}:${m % 3 === 0 ? "latest" : "q4_K_M"}`;
    for (const endpoint of ENDPOINTS.slice(0, endpointsPerModel)) {
      const values = { ...LABEL_VALUES, model, endpoint };
      for (const family of families) {
        if (family.labelNames.length === 0) continue;
        const child = family.labels(
          ...family.labelNames.map((name: string) => (values as Record<string, string>)[name]!),
        );
        if ("observe" in child) {
          for (let k = 0; k < 20; k++) child.observe(((m + 1) * (k + 1)) % 200 / 7);
        } else {
          child.inc(m * 1234.5);
        }
      }
    }
  }
  return registry;
}

const small = exporterSizedRegistry(1);
const large = exporterSizedRegistry(3);
const sizes = {
  small: new TextEncoder().encode(encodeText(await small.collect())).length,
  large: new TextEncoder().encode(encodeText(await large.collect())).length,
};
console.log(
  `render sizes: 100 models × 1 endpoint = ${sizes.small} bytes; ` +
    `100 models × 3 endpoints = ${sizes.large} bytes`,
);

Deno.bench({
  name: "render text (collect + encodeText), 100 models × 1 endpoint (every exporter family)",
  group: "render",
  baseline: true,
  fn: async () => {
    encodeText(await small.collect());
  },
});

Deno.bench({
  name: "render text + UTF-8 bytes (string flattened), 100 models × 1 endpoint",
  group: "render",
  fn: async () => {
    new TextEncoder().encode(encodeText(await small.collect()));
  },
});

Deno.bench({
  name: "render text (collect + encodeText), 100 models × 3 endpoints (every exporter family)",
  group: "render",
  fn: async () => {
    encodeText(await large.collect());
  },
});

Deno.bench({
  name: "render OpenMetrics (collect + encodeOpenMetrics), 100 models × 3 endpoints",
  group: "render",
  fn: async () => {
    encodeOpenMetrics(await large.collect());
  },
});

Deno.bench({
  name: "render text + UTF-8 bytes (string flattened), 100 models × 3 endpoints",
  group: "render",
  fn: async () => {
    new TextEncoder().encode(encodeText(await large.collect()));
  },
});

Deno.bench({
  name: "metricsResponse, identity, body read, 100 models × 1 endpoint",
  group: "response",
  baseline: true,
  fn: async () => {
    await (await metricsResponse(small, new Request("http://x/metrics"))).arrayBuffer();
  },
});

Deno.bench({
  name: "metricsResponse, gzip (CompressionStream), body read, 100 models × 1 endpoint",
  group: "response",
  fn: async () => {
    const request = new Request("http://x/metrics", { headers: { "accept-encoding": "gzip" } });
    await (await metricsResponse(small, request)).arrayBuffer();
  },
});

const PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0;q=0.5," +
  "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
Deno.bench("negotiateFormat + acceptsGzip, Prometheus headers", () => {
  negotiateFormat(PROMETHEUS_ACCEPT);
  acceptsGzip("gzip");
});

// Observations on cached children, 1000 per iteration.
const observations = Float64Array.from({ length: 1000 }, (_, i) => (i * 7919) % 20000 / 100);
const histogramChild = large.histogram({
  name: "bench_observe_seconds",
  help: "Observe.",
  labelNames: ["model", "endpoint"],
  buckets: BUCKETS,
}).labels("model-1", "/api/chat");
const exactSumChild = large.histogram({
  name: "bench_observe_exact_seconds",
  help: "Observe, sum kept in whole nanoseconds.",
  labelNames: ["model", "endpoint"],
  buckets: BUCKETS,
  sumScale: 1e9,
}).labels("model-1", "/api/chat");
const counterFamily = large.counter({
  name: "bench_inc_total",
  help: "Inc.",
  labelNames: ["model", "endpoint"],
});
const counterChild = counterFamily.labels("model-1", "/api/chat");
const gaugeChild = large.gauge({ name: "bench_set", help: "Set.", labelNames: ["model"] })
  .labels("model-1");

Deno.bench({
  name: "histogram observe on a cached child ×1000",
  group: "observe",
  baseline: true,
  fn: () => {
    for (let i = 0; i < 1000; i++) histogramChild.observe(observations[i] as number);
  },
});

Deno.bench({
  name: "histogram observe with sumScale 1e9 (exact sum) on a cached child ×1000",
  group: "observe",
  fn: () => {
    for (let i = 0; i < 1000; i++) exactSumChild.observe(observations[i] as number);
  },
});

Deno.bench({
  name: "counter inc on a cached child ×1000",
  group: "observe",
  fn: () => {
    for (let i = 0; i < 1000; i++) counterChild.inc(observations[i] as number);
  },
});

Deno.bench({
  name: "gauge set on a cached child ×1000",
  group: "observe",
  fn: () => {
    for (let i = 0; i < 1000; i++) gaugeChild.set(observations[i] as number);
  },
});

Deno.bench({
  name: "labels(model, endpoint) lookup of an existing child + inc ×1000",
  group: "observe",
  fn: () => {
    for (let i = 0; i < 1000; i++) counterFamily.labels("model-1", "/api/chat").inc();
  },
});
