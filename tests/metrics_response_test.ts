import assert from "node:assert/strict";
import { metricsResponse } from "../lib/metrics/metrics_response.ts";
import { encodeOpenMetrics } from "../lib/metrics/open_metrics_format.ts";
import { Registry } from "../lib/metrics/registry.ts";
import { encodeText } from "../lib/metrics/text_format.ts";

const PROMETHEUS_2 = "application/openmetrics-text;version=1.0.0;q=0.5," +
  "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

function registryWithData(): Registry {
  const registry = new Registry();
  const requests = registry.counter({
    name: "app_requests_total",
    help: "Requests.",
    labelNames: ["model"],
  });
  for (let i = 0; i < 200; i++) requests.labels(`model-${i} "ü"\n\\`).inc(i);
  registry.histogram({ name: "app_seconds", help: "Seconds.", buckets: [0.1, 1] }).observe(0.3);
  return registry;
}

function scrape(headers: Record<string, string>, method = "GET"): Request {
  return new Request("http://exporter/metrics", { method, headers });
}

async function gunzip(response: Response): Promise<string> {
  assert.ok(response.body);
  const stream = response.body.pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

Deno.test("metricsResponse: plain text, no compression unless asked", async () => {
  const registry = registryWithData();
  const response = await metricsResponse(registry, scrape({}));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(response.headers.get("content-encoding"), null);
  assert.equal(response.headers.get("vary"), null);
  assert.equal(await response.text(), encodeText(await registry.collect()));
});

Deno.test("metricsResponse: OpenMetrics for Prometheus, gzipped when accepted", async () => {
  const registry = registryWithData();
  const response = await metricsResponse(
    registry,
    scrape({ "accept": PROMETHEUS_2, "accept-encoding": "gzip" }),
  );
  assert.equal(
    response.headers.get("content-type"),
    "application/openmetrics-text; version=1.0.0; charset=utf-8",
  );
  assert.equal(response.headers.get("content-encoding"), "gzip");
  assert.equal(response.headers.get("vary"), "Accept-Encoding");
  const body = await gunzip(response);
  assert.equal(body, encodeOpenMetrics(await registry.collect()));
  assert.ok(body.endsWith("# EOF\n"));
});

Deno.test("metricsResponse: gzipped text round-trips, unicode included", async () => {
  const registry = registryWithData();
  const response = await metricsResponse(
    registry,
    scrape({ "accept-encoding": "br;q=1.0, gzip;q=0.8, *;q=0.1" }),
  );
  assert.equal(response.headers.get("content-encoding"), "gzip");
  const body = await gunzip(response);
  assert.equal(body, encodeText(await registry.collect()));
  assert.match(body, /model-7 \\"ü\\"\\n\\\\"\} 7\n/);
});

Deno.test("metricsResponse: gzip;q=0 and identity get no compression", async () => {
  const registry = registryWithData();
  for (const acceptEncoding of ["gzip;q=0", "identity", "*;q=0", "br"]) {
    const response = await metricsResponse(registry, scrape({ "accept-encoding": acceptEncoding }));
    assert.equal(response.headers.get("content-encoding"), null, acceptEncoding);
    assert.equal(response.headers.get("vary"), null, acceptEncoding);
    assert.match(await response.text(), /^# HELP app_requests_total Requests\.\n/);
  }
});

Deno.test("metricsResponse: HEAD gives the headers and no body, without collecting", async () => {
  const registry = new Registry();
  let collected = 0;
  registry.gauge({ name: "g", help: "G.", collect: () => void collected++ });
  const response = await metricsResponse(
    registry,
    scrape({ "accept": PROMETHEUS_2, "accept-encoding": "gzip" }, "HEAD"),
  );
  assert.equal(response.status, 200);
  assert.equal(response.body, null);
  assert.equal(
    response.headers.get("content-type"),
    "application/openmetrics-text; version=1.0.0; charset=utf-8",
  );
  assert.equal(response.headers.get("content-encoding"), "gzip");
  assert.equal(collected, 0);
});

Deno.test("metricsResponse: other methods get 405", async () => {
  const response = await metricsResponse(new Registry(), scrape({}, "POST"));
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "GET, HEAD");
  assert.match(await response.text(), /Cannot POST \/metrics/);
});
