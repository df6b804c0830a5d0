/**
 * Exemplars end to end with the real Prometheus (issue #12): a registry whose histograms are
 * observed with trace ids, served by `metricsResponse` over `Deno.serve`, scraped every second by
 * `prometheus` started with `--enable-feature=exemplar-storage`. Prometheus asks for OpenMetrics
 * by itself (its `Accept` is recorded to prove it); the exemplars are read back through
 * `/api/v1/query_exemplars` and must be exactly the ones each bucket kept: trace ids, values,
 * timestamps to the millisecond and the series labels (`le` included). Then a new exemplar in a
 * bucket that had one is added to that series' history, and Prometheus's own counters show that
 * the repeated scrapes stored each exemplar once (our timestamps make repeats duplicates) and
 * none out of order.
 *
 * Without the `prometheus` binary this test fails: install it with `apt-get install prometheus`.
 */
import assert from "node:assert/strict";
import type { Exemplar } from "../lib/metrics/exemplar.ts";
import { metricsResponse } from "../lib/metrics/metrics_response.ts";
import { Registry } from "../lib/metrics/registry.ts";
import {
  PrometheusServer,
  type SeriesExemplars,
  type StoredExemplar,
  waitFor,
} from "./support/prometheus_server.ts";

const JOB = "exemplars";
const LLAMA = "llama3.2:latest";
const QWEN = "qwen2.5:0.5b";

/** One exemplar as the test expects it back: `series key -> exemplars, oldest first`. */
type Expected = Map<string, readonly StoredExemplar[]>;

function traceId(n: number): string {
  return n.toString(16).padStart(32, "0");
}

function stored(exemplar: Exemplar, value: number): StoredExemplar {
  return { labels: exemplar.labels, value, timestamp: (exemplar.timestamp as number) / 1000 };
}

/** `name{endpoint,le,model}` without job and instance, which are checked separately. */
function seriesKey(labels: Readonly<Record<string, string>>): string {
  const { __name__: name, job: _job, instance: _instance, ...rest } = labels;
  const text = Object.entries(rest).sort(([a], [b]) => a < b ? -1 : 1)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",");
  return `${name}{${text}}`;
}

function byKey(result: readonly SeriesExemplars[]): Expected {
  return new Map(
    result.map((entry) => [seriesKey(entry.seriesLabels), entry.exemplars] as const)
      .sort(([a], [b]) => a < b ? -1 : 1),
  );
}

function sorted(expected: Expected): Expected {
  return new Map([...expected].sort(([a], [b]) => a < b ? -1 : 1));
}

/** A sample of Prometheus's own `/metrics` (text format), e.g. its exemplar storage counters. */
async function ownMetric(prometheus: PrometheusServer, name: string): Promise<number> {
  const response = await fetch(`${prometheus.url}/metrics`, {
    headers: { accept: "text/plain;version=0.0.4" },
  });
  const text = await response.text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  assert.ok(line !== undefined, `Prometheus exposes no ${name}`);
  return Number(line.slice(name.length + 1));
}

Deno.test("real Prometheus stores the histogram exemplars it scrapes in OpenMetrics", async () => {
  const registry = new Registry({
    onCollectError: (name, error) => {
      throw new Error(`collect of ${name} failed: ${error}`);
    },
  });
  const response = registry.histogram({
    name: "ollama_response_seconds",
    help: "Time to the last byte.",
    labelNames: ["model", "endpoint"],
    buckets: [0.1, 0.5, 1, 5],
    sumScale: 1e9,
  });
  const firstToken = registry.histogram({
    name: "ollama_time_to_first_token_seconds",
    help: "Time to the first token.",
    labelNames: ["model", "endpoint"],
    buckets: [0.1, 0.25, 0.5, 1],
    sumScale: 1e9,
  });

  const t0 = Date.now() - 5_000;
  const chat = response.labels(LLAMA, "/api/chat");
  const generate = response.labels(QWEN, "/api/generate");
  const ex = (n: number, offsetMs: number): Exemplar => ({
    labels: { trace_id: traceId(n) },
    timestamp: t0 + offsetMs,
  });
  const first = ex(0xa1, 0);
  const second = ex(0xa2, 1);
  const inHalf = ex(0xa3, 2);
  const inInf = ex(0xa4, 3);
  const twoLabels: Exemplar = {
    labels: { trace_id: traceId(0xb1), span_id: "00f067aa0ba902b7" },
    timestamp: t0 + 4,
  };
  chat.observe(0.05, first); // le=0.1 ...
  chat.observe(0.07, second); // ... replaced by this one before any scrape
  chat.observe(0.42, inHalf); // le=0.5
  chat.observe(0.3); // le=0.5, no exemplar: inHalf stays
  chat.observe(7.5, inInf); // le=+Inf
  generate.observe(2, twoLabels); // le=5.0
  // Too long (8 + 121 code points): dropped, counted.
  generate.observe(0.05, { labels: { trace_id: "f".repeat(121) }, timestamp: t0 + 5 });
  // No timestamp: the registry stamps the observation time.
  const before = Date.now();
  firstToken.labels(LLAMA, "/api/chat").observe(0.2, { labels: { trace_id: traceId(0xc1) } });
  const after = Date.now();

  const contentTypes: string[] = [];
  const accepts: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      if (new URL(request.url).pathname !== "/metrics") {
        return new Response("not found\n", { status: 404 });
      }
      const answer = await metricsResponse(registry, request);
      accepts.push(request.headers.get("accept") ?? "");
      contentTypes.push(answer.headers.get("content-type") ?? "");
      return answer;
    },
  );
  let prometheus: PrometheusServer | undefined;
  try {
    prometheus = await PrometheusServer.start({
      intervalSeconds: 1,
      features: ["exemplar-storage"],
      jobs: [{ name: JOB, target: `127.0.0.1:${server.addr.port}` }],
    });
    const p = prometheus;
    // Prometheus scrapes a target one scrape after the other and commits each before it sends
    // the next request: after the n-th request, n - 1 scrapes are stored.
    const scrapes = (count: number) =>
      waitFor(`${count} scrapes`, () => Promise.resolve(accepts.length >= count || undefined), {
        detail: () => `${accepts.length} scrapes; Prometheus log:\n${p.log}`,
      });
    await scrapes(2);

    const targets = await p.targets();
    assert.equal(targets.length, 1);
    assert.equal(targets[0]?.health, "up", targets[0]?.lastError ?? "");
    const instance = `127.0.0.1:${server.addr.port}`;

    const expected: Expected = new Map([
      [
        'ollama_response_seconds_bucket{endpoint="/api/chat",le="0.1",model="llama3.2:latest"}',
        [stored(second, 0.07)],
      ],
      [
        'ollama_response_seconds_bucket{endpoint="/api/chat",le="0.5",model="llama3.2:latest"}',
        [stored(inHalf, 0.42)],
      ],
      [
        'ollama_response_seconds_bucket{endpoint="/api/chat",le="+Inf",model="llama3.2:latest"}',
        [stored(inInf, 7.5)],
      ],
      [
        'ollama_response_seconds_bucket{endpoint="/api/generate",le="5.0",model="qwen2.5:0.5b"}',
        [stored(twoLabels, 2)],
      ],
    ]);
    const start = t0 / 1000 - 60;
    const end = () => Date.now() / 1000 + 60;
    const all = await p.exemplars('{__name__=~"ollama_.+_bucket"}', start, end());
    for (const entry of all) {
      assert.equal(entry.seriesLabels.job, JOB);
      assert.equal(entry.seriesLabels.instance, instance);
    }
    const found = byKey(all);
    // The exemplar stamped by the registry: its time lies between the two clocks read around it.
    const ttftKey = 'ollama_time_to_first_token_seconds_bucket{endpoint="/api/chat",le="0.25",' +
      'model="llama3.2:latest"}';
    const stamped = found.get(ttftKey)?.[0];
    assert.ok(
      stamped !== undefined && stamped.timestamp * 1000 >= before &&
        stamped.timestamp * 1000 <= after,
      `${ttftKey}: ${JSON.stringify(found.get(ttftKey))} not within [${before}, ${after}] ms`,
    );
    expected.set(ttftKey, [
      { labels: { trace_id: traceId(0xc1) }, value: 0.2, timestamp: stamped.timestamp },
    ]);
    assert.deepEqual(found, sorted(expected));

    // One selector, one series: what Grafana asks for a panel.
    const one = await p.exemplars(
      `ollama_response_seconds_bucket{model="${LLAMA}",le="+Inf"}`,
      start,
      end(),
    );
    assert.deepEqual(one.map((entry) => entry.exemplars), [[stored(inInf, 7.5)]]);

    // A new exemplar in a bucket that had one: Prometheus keeps both, oldest first.
    const third = ex(0xa5, 4_000);
    chat.observe(0.09, third);
    await scrapes(accepts.length + 3);
    expected.set(
      'ollama_response_seconds_bucket{endpoint="/api/chat",le="0.1",model="llama3.2:latest"}',
      [stored(second, 0.07), stored(third, 0.09)],
    );
    assert.deepEqual(
      byKey(await p.exemplars('{__name__=~"ollama_.+_bucket"}', start, end())),
      sorted(expected),
    );

    // Six exemplars stored once each over five or more scrapes; none out of order.
    assert.ok(accepts.length >= 5, `${accepts.length} scrapes`);
    assert.equal(await ownMetric(p, "prometheus_tsdb_exemplar_exemplars_appended_total"), 6);
    assert.equal(await ownMetric(p, "prometheus_tsdb_exemplar_exemplars_in_storage"), 6);
    assert.equal(
      await ownMetric(p, "prometheus_tsdb_exemplar_series_with_exemplars_in_storage"),
      5,
    );
    assert.equal(await ownMetric(p, "prometheus_tsdb_exemplar_out_of_order_exemplars_total"), 0);

    // Every scrape asked for OpenMetrics and got it.
    for (const accept of accepts) assert.match(accept, /^application\/openmetrics-text;/);
    for (const type of contentTypes) {
      assert.equal(type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    }
    assert.match(p.log, /Experimental in-memory exemplar storage enabled/);
    assert.doesNotMatch(p.log, /level=(warn|error)/);
  } finally {
    await prometheus?.close();
    await server.shutdown();
  }
});
