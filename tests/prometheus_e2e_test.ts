/**
 * End to end with the real Prometheus: the Ollama simulator, the exporter in front of it, and
 * `prometheus` (a subprocess on 127.0.0.1, TSDB in a temporary directory) scraping the exporter
 * every second in two jobs:
 *
 * - `exporter_openmetrics` scrapes the exporter directly. Prometheus 2.x prefers OpenMetrics in
 *   its `Accept` header, so this job gets `application/openmetrics-text; version=1.0.0` (gzipped).
 * - `exporter_text` scrapes it through a tiny proxy that rewrites `Accept` to
 *   `text/plain;version=0.0.4` (Prometheus 2.42 has no per-job `scrape_protocols`; that came in
 *   2.49), so this job gets the text format.
 *
 * The exporter's handler is wrapped to record every scrape's `Accept`, `User-Agent` and
 * `Content-Type`, so the test proves which format each job was served. After known traffic has
 * settled, the numbers are read back through Prometheus's HTTP API and must be exact: request
 * counts, token sums from `expectedCompletion`, the median of the eval-duration histogram (in the
 * bucket the exporter's bounds put it, at the value Prometheus's interpolation gives), `ollama_up`,
 * target health, and identical `ollama_*` series from both formats.
 *
 * Without the `prometheus` binary this test fails: install it with `apt-get install prometheus`.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { Exporter } from "../lib/exporter.ts";
import { LATENCY_BUCKETS } from "../lib/exporter_metrics.ts";
import { Logger } from "../lib/log.ts";
import {
  type CompletionMetrics,
  type CountedMessage,
  OllamaSimulator,
} from "./support/ollama_simulator.ts";
import { AcceptRewritingProxy } from "./support/prometheus_accept_proxy.ts";
import { PrometheusServer, waitFor } from "./support/prometheus_server.ts";

const OM_JOB = "exporter_openmetrics";
const TEXT_JOB = "exporter_text";
const TEXT_ACCEPT = "text/plain;version=0.0.4";
const LLAMA = "llama3.2:latest";
const QWEN = "qwen2.5:0.5b";

/** One generation the test sends, and how the exporter labels it. */
interface Generation {
  readonly endpoint: "/api/generate" | "/api/chat";
  /** The model as the request names it. */
  readonly model: string;
  /** The `model` label value it is counted under. */
  readonly label: string;
  readonly input: string | readonly CountedMessage[];
  readonly stream: boolean;
  readonly numPredict?: number;
}

/** Known traffic: eval durations 0.2, 0.3, 0.2, 0.125, 0.5, 0.075 s (25 ms per token). */
const GENERATIONS: readonly Generation[] = [
  {
    endpoint: "/api/generate",
    model: "llama3.2",
    label: LLAMA,
    input: "Why is the sky blue?",
    stream: false,
  },
  {
    endpoint: "/api/generate",
    model: "llama3.2",
    label: LLAMA,
    input: "Write a haiku about llamas",
    stream: true,
    numPredict: 12,
  },
  {
    endpoint: "/api/chat",
    model: "llama3.2",
    label: LLAMA,
    input: [{ role: "user", content: "Say hello in French" }],
    stream: false,
  },
  {
    endpoint: "/api/chat",
    model: "llama3.2:latest",
    label: LLAMA,
    input: [{ role: "system", content: "Answer briefly." }, {
      role: "user",
      content: "Name a colour",
    }],
    stream: true,
    numPredict: 5,
  },
  {
    endpoint: "/api/chat",
    model: "llama3.2",
    label: LLAMA,
    input: [{ role: "user", content: "Name three colours" }],
    stream: true,
    numPredict: 20,
  },
  {
    endpoint: "/api/chat",
    model: QWEN,
    label: QWEN,
    input: [{ role: "user", content: "What is 2 + 2?" }],
    stream: true,
    numPredict: 3,
  },
];

/** A request for a model the simulator does not have: 404, counted under `other`. */
const UNKNOWN_MODEL_REQUEST = { model: "no-such-model:13b", prompt: "hello", stream: false };

/** What the exporter served one scrape, seen from its own handler. */
interface ServedScrape {
  readonly userAgent: string;
  readonly accept: string;
  readonly contentType: string;
  readonly contentEncoding: string;
}

async function send(base: string, generation: Generation, simulator: OllamaSimulator) {
  const body: Record<string, unknown> = { model: generation.model, stream: generation.stream };
  if (typeof generation.input === "string") body.prompt = generation.input;
  else body.messages = generation.input;
  if (generation.numPredict !== undefined) body.options = { num_predict: generation.numPredict };
  const response = await fetch(base + generation.endpoint, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${generation.endpoint} ${generation.model}: ${text}`);
  const expected = simulator.expectedCompletion(
    generation.model,
    generation.input,
    generation.numPredict === undefined ? {} : { numPredict: generation.numPredict },
  );
  // The stream really streamed: one NDJSON line per token chunk plus the final one.
  const lines = text.split("\n").filter((line) => line !== "");
  assert.equal(lines.length, generation.stream ? expected.chunks.length + 1 : 1);
  return expected.metrics;
}

/**
 * Where `histogram_quantile(q, ...)` must land for these observations and bucket bounds, and the
 * value Prometheus's linear interpolation gives: the bucket holding the observation of rank
 * `q * count`, from its lower to its upper bound (the first bucket starts at 0).
 */
function expectedQuantile(q: number, observations: readonly number[], bounds: readonly number[]) {
  const rank = q * observations.length;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const upper = bounds[i]!;
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    const inBucket = observations.filter((o) => o > lower && o <= upper).length;
    if (below + inBucket >= rank && inBucket > 0) {
      return { lower, upper, value: lower + (upper - lower) * ((rank - below) / inBucket) };
    }
    below += inBucket;
  }
  throw new Error(`Cannot place quantile ${q}: observations beyond the last bound`);
}

/** Series of one job as `name{labels without job and instance}` -> value. */
async function jobSeries(prometheus: PrometheusServer, job: string): Promise<Map<string, number>> {
  const samples = await prometheus.query(`{__name__=~"ollama_.+",job="${job}"}`);
  const series = new Map<string, number>();
  for (const { metric, value } of samples) {
    const { __name__: name, job: _job, instance: _instance, ...labels } = metric;
    const text = Object.entries(labels).sort(([a], [b]) => a < b ? -1 : 1)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",");
    series.set(`${name}{${text}}`, value);
  }
  return series;
}

Deno.test("real Prometheus scrapes the exporter in text and OpenMetrics formats: exact numbers", async () => {
  const simulator = await OllamaSimulator.start();
  const logs: string[] = [];
  const exporter = new Exporter(
    loadConfig({ OLLAMA_HOST: simulator.url, LOG_LEVEL: "INFO" }),
    { logger: new Logger("INFO", { sink: (line) => logs.push(line) }) },
  );
  await exporter.monitor.check();
  const served: ServedScrape[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const response = await exporter.handler(request);
      if (new URL(request.url).pathname === "/metrics") {
        served.push({
          userAgent: request.headers.get("user-agent") ?? "",
          accept: request.headers.get("accept") ?? "",
          contentType: response.headers.get("content-type") ?? "",
          contentEncoding: response.headers.get("content-encoding") ?? "",
        });
      }
      return response;
    },
  );
  const exporterUrl = `http://127.0.0.1:${server.addr.port}`;
  const proxy = AcceptRewritingProxy.start({ upstream: exporterUrl, accept: TEXT_ACCEPT });
  let prometheus: PrometheusServer | undefined;
  try {
    prometheus = await PrometheusServer.start({
      intervalSeconds: 1,
      jobs: [
        { name: OM_JOB, target: `127.0.0.1:${server.addr.port}` },
        { name: TEXT_JOB, target: proxy.target },
      ],
    });
    const p = prometheus;

    // Known traffic, one request after the other.
    const metrics: CompletionMetrics[] = [];
    for (const generation of GENERATIONS) {
      metrics.push(await send(exporterUrl, generation, simulator));
    }
    const missing = await fetch(`${exporterUrl}/api/generate`, {
      method: "POST",
      body: JSON.stringify(UNKNOWN_MODEL_REQUEST),
    });
    assert.equal(missing.status, 404, await missing.text());

    // Settled: nothing in flight and every request counted by the exporter.
    const sent = GENERATIONS.length + 1;
    await waitFor("the exporter to count every request", async () => {
      const families = await exporter.registry.collect();
      const sum = (name: string) =>
        families.find((f) => f.name === name)?.series.reduce((t, s) => t + s.value, 0) ?? 0;
      return sum("ollama_requests_in_flight") === 0 && sum("ollama_requests_total") === sent
        ? true
        : undefined;
    }, { timeoutMs: 5_000, everyMs: 10 });
    const settledAt = Date.now();

    // Two scrapes of each target that started after that: the first one is then committed.
    const scrapedTwice = new Map<string, number>();
    await waitFor("two scrapes of each target after the traffic", async () => {
      const targets = await p.targets();
      for (const target of targets) {
        const started = Date.parse(target.lastScrape);
        if (started <= settledAt) continue;
        const first = scrapedTwice.get(target.scrapePool);
        if (first === undefined) scrapedTwice.set(target.scrapePool, started);
        else if (started > first) scrapedTwice.set(target.scrapePool, Infinity);
      }
      return [OM_JOB, TEXT_JOB].every((job) => scrapedTwice.get(job) === Infinity)
        ? true
        : undefined;
    }, { detail: () => `${JSON.stringify([...scrapedTwice])}; Prometheus log:\n${p.log}` });

    // Both targets are healthy.
    const targets = await p.targets();
    assert.deepEqual(targets.map((t) => t.scrapePool).sort(), [OM_JOB, TEXT_JOB]);
    for (const target of targets) {
      assert.equal(target.health, "up", `${target.scrapePool}: ${target.lastError}`);
      assert.equal(target.lastError, "", target.scrapePool);
    }

    // The format each job was served.
    const direct = served.filter((s) => s.userAgent.startsWith("Prometheus/"));
    assert.ok(direct.length >= 2, `direct scrapes by Prometheus: ${JSON.stringify(served)}`);
    for (const scrape of direct) {
      assert.match(scrape.accept, /^application\/openmetrics-text;version=1\.0\.0/);
      assert.equal(
        scrape.contentType,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
      );
      assert.equal(scrape.contentEncoding, "gzip");
    }
    const viaProxy = served.filter((s) => s.accept === TEXT_ACCEPT);
    assert.equal(direct.length + viaProxy.length, served.length, JSON.stringify(served));
    assert.ok(proxy.scrapes.length >= 2, "scrapes through the text proxy");
    for (const scrape of proxy.scrapes) {
      // Prometheus asked for OpenMetrics first; the proxy made it text.
      assert.match(scrape.receivedAccept ?? "", /^application\/openmetrics-text;version=1\.0\.0/);
      assert.equal(scrape.status, 200);
      assert.equal(scrape.contentType, "text/plain; version=0.0.4; charset=utf-8");
    }
    for (const scrape of viaProxy) {
      assert.equal(scrape.contentType, "text/plain; version=0.0.4; charset=utf-8");
    }

    // Expected numbers, from the simulator's formula.
    const sumOf = (label: string, pick: (m: CompletionMetrics) => number) =>
      GENERATIONS.reduce((t, g, i) => g.label === label ? t + pick(metrics[i]!) : t, 0);
    const evalSeconds = metrics.map((m) => m.eval_duration / 1e9);
    const median = expectedQuantile(0.5, evalSeconds, LATENCY_BUCKETS);
    const requestsOf = (label: string, endpoint: string) =>
      GENERATIONS.filter((g) => g.label === label && g.endpoint === endpoint).length;
    assert.equal(requestsOf(LLAMA, "/api/chat"), 3);
    assert.deepEqual(
      { lower: median.lower, upper: median.upper },
      { lower: 0.16, upper: 0.32 },
      "the traffic is meant to put the median in the 0.16-0.32 s bucket",
    );

    for (const job of [OM_JOB, TEXT_JOB]) {
      const v = (expr: string) => p.value(expr);
      const requests = (model: string, endpoint: string, code: string) =>
        v(`ollama_requests_total{job="${job}",model="${model}",endpoint="${endpoint}",code="${code}"}`);
      assert.equal(await requests(LLAMA, "/api/chat", "200"), requestsOf(LLAMA, "/api/chat"), job);
      assert.equal(
        await requests(LLAMA, "/api/generate", "200"),
        requestsOf(LLAMA, "/api/generate"),
        job,
      );
      assert.equal(await requests(QWEN, "/api/chat", "200"), requestsOf(QWEN, "/api/chat"), job);
      assert.equal(await requests("other", "/api/generate", "404"), 1, job);
      assert.equal(await v(`sum(ollama_requests_total{job="${job}"})`), sent, job);
      assert.equal(
        await v(
          `ollama_request_errors_total{job="${job}",model="other",endpoint="/api/generate",reason="upstream_error"}`,
        ),
        1,
        job,
      );
      for (const model of [LLAMA, QWEN]) {
        assert.equal(
          await v(`ollama_tokens_generated_total{job="${job}",model="${model}"}`),
          sumOf(model, (m) => m.eval_count),
          `${job} ${model} generated`,
        );
        assert.equal(
          await v(`ollama_tokens_processed_total{job="${job}",model="${model}"}`),
          sumOf(model, (m) => m.prompt_eval_count),
          `${job} ${model} processed`,
        );
      }
      assert.equal(
        await v(`sum(ollama_eval_duration_seconds_count{job="${job}"})`),
        GENERATIONS.length,
        job,
      );
      const quantile = await v(
        `histogram_quantile(0.5, sum by (le) (ollama_eval_duration_seconds_bucket{job="${job}"}))`,
      );
      assert.ok(
        quantile !== undefined && quantile > median.lower && quantile <= median.upper,
        `${job}: median eval duration ${quantile} not in (${median.lower}, ${median.upper}]`,
      );
      assert.ok(
        Math.abs(quantile - median.value) < 1e-9,
        `${job}: median eval duration ${quantile}, expected ${median.value}`,
      );
      assert.equal(await v(`ollama_up{job="${job}"}`), 1, job);
    }

    // Both formats give Prometheus the same ollama_* series with the same values.
    const fromText = await jobSeries(p, TEXT_JOB);
    const fromOpenMetrics = await jobSeries(p, OM_JOB);
    assert.ok(fromText.size > 50, `only ${fromText.size} ollama_* series from the text job`);
    assert.deepEqual(fromOpenMetrics, fromText);
    assert.ok(!logs.some((line) => /^\S+ (WARN|ERROR) /.test(line)), logs.join("\n"));
  } finally {
    await prometheus?.close();
    await proxy.close();
    await server.shutdown();
    await exporter.close();
    await simulator.close();
  }
});
