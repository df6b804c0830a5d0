/**
 * Mixed traffic through a fresh exporter for a while: streams of both APIs, plain requests,
 * upstream errors (error statuses, an error line mid-stream, a dropped connection), clients
 * that leave mid-stream, large-ish embeddings and scrapes. Its resident memory and open
 * descriptors are sampled every few seconds under the traffic; the first and last windows
 * (a minute each, or a third of a shorter run) are compared, and at the end nothing may be left in
 * flight.
 *
 * @module
 */

import { startExporter } from "./fleet.ts";
import { sumSamples } from "./metrics_text.ts";
import { delay } from "./processes.ts";
import { REQUEST_BODIES } from "./ollama_bodies.ts";
import { mean, round } from "./stats.ts";
import { readStream } from "./stream_client.ts";

/** Settings of the endurance phase. */
export interface EnduranceOptions {
  readonly seconds: number;
  readonly sampleSeconds: number;
  /** Concurrent client loops. */
  readonly workers: number;
  readonly upstream: string;
  readonly cpus?: string;
  readonly log: (line: string) => void;
}

/** One sample of the exporter. */
export interface EnduranceSample {
  readonly t_s: number;
  readonly rss_kib: number;
  readonly fds: number;
  readonly requests: number;
}

/** Averages over one window of samples. */
export interface EnduranceWindow {
  readonly from_s: number;
  readonly to_s: number;
  readonly rss_kib: number;
  readonly fds: number;
  readonly requests_per_s: number;
}

/** What the phase measured. */
export interface EnduranceResult {
  readonly seconds: number;
  readonly window_seconds: number;
  readonly requests: number;
  readonly requests_per_s: number;
  /** Per scenario: how many ran, and how many did not end as that scenario should. */
  readonly scenarios: Record<string, { runs: number; unexpected: number }>;
  readonly unexpected: number;
  readonly first_error?: string;
  readonly first: EnduranceWindow;
  readonly last: EnduranceWindow;
  readonly rss_growth_kib: number;
  readonly fd_growth: number;
  /** Before the traffic started (not part of the windows). */
  readonly idle_rss_kib: number;
  readonly idle_fds: number;
  readonly hwm_kib: number;
  /** After the traffic stopped and a second passed. */
  readonly fds_after: number;
  readonly in_flight_after: number;
  readonly samples: EnduranceSample[];
}

type Outcome = "ok" | "unexpected";

interface Scenario {
  readonly name: string;
  readonly run: (origin: string) => Promise<Outcome>;
}

const TIMEOUT_MS = 15_000;

async function plain(
  origin: string,
  path: string,
  init: { body?: string; headers?: Record<string, string> },
  expectStatus: number,
): Promise<Outcome> {
  const response = await fetch(origin + path, {
    method: init.body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json", ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  await response.arrayBuffer();
  return response.status === expectStatus ? "ok" : "unexpected";
}

/** A whole 21-line NDJSON chat stream; it stands twice in the mix, as the commonest request. */
const CHAT_STREAM: Scenario = {
  name: "chat_stream",
  run: async (origin) => {
    const outcome = await readStream({
      url: `${origin}/api/chat`,
      body: REQUEST_BODIES.chat,
      timeoutMs: TIMEOUT_MS,
    });
    return outcome.status === 200 && outcome.sawEnd && outcome.lines === 21 ? "ok" : "unexpected";
  },
};

/** The mix, in the order each worker cycles through it. */
const SCENARIOS: readonly Scenario[] = [
  CHAT_STREAM,
  {
    name: "generate",
    run: (origin) => plain(origin, "/api/generate", { body: REQUEST_BODIES.generate }, 200),
  },
  {
    name: "sse_stream",
    run: async (origin) => {
      const outcome = await readStream({
        url: `${origin}/v1/chat/completions`,
        body: REQUEST_BODIES.openai,
        timeoutMs: TIMEOUT_MS,
      });
      return outcome.status === 200 && outcome.sawEnd ? "ok" : "unexpected";
    },
  },
  { name: "tags", run: (origin) => plain(origin, "/api/tags", {}, 200) },
  CHAT_STREAM,
  {
    name: "upstream_500",
    run: (origin) =>
      plain(origin, "/api/chat", {
        body: REQUEST_BODIES.chat,
        headers: { "x-bench-status": "500" },
      }, 500),
  },
  {
    name: "upstream_404",
    run: (origin) =>
      plain(origin, "/api/generate", {
        body: REQUEST_BODIES.generate,
        headers: { "x-bench-status": "404" },
      }, 404),
  },
  {
    name: "error_mid_stream",
    run: async (origin) => {
      let sawError = false;
      const outcome = await readStream({
        url: `${origin}/api/chat`,
        body: REQUEST_BODIES.chat,
        headers: { "x-bench-error-after": "5" },
        timeoutMs: TIMEOUT_MS,
        onLine: (line) => sawError ||= line.startsWith('{"error"'),
      });
      return outcome.status === 200 && sawError && !outcome.sawEnd ? "ok" : "unexpected";
    },
  },
  {
    name: "upstream_drop",
    run: async (origin) => {
      try {
        const outcome = await readStream({
          url: `${origin}/api/chat`,
          body: REQUEST_BODIES.chat,
          headers: { "x-bench-drop-after": "5" },
          timeoutMs: TIMEOUT_MS,
        });
        // The proxy may end the body cleanly or abort it; it must not invent a final chunk.
        return outcome.sawEnd ? "unexpected" : "ok";
      } catch {
        return "ok";
      }
    },
  },
  {
    name: "client_disconnect",
    run: async (origin) => {
      const outcome = await readStream({
        url: `${origin}/api/chat`,
        body: REQUEST_BODIES.chat,
        headers: { "x-bench-interval-ms": "5" },
        stopAfterLines: 3,
        timeoutMs: TIMEOUT_MS,
      });
      return outcome.status === 200 && outcome.stoppedEarly ? "ok" : "unexpected";
    },
  },
  {
    name: "embed_256k",
    run: (origin) =>
      plain(origin, "/api/embed", {
        body: REQUEST_BODIES.embed,
        headers: { "x-bench-embed-bytes": String(256 * 1024) },
      }, 200),
  },
];

function windowOf(samples: EnduranceSample[], from: number, to: number): EnduranceWindow {
  const inside = samples.filter((sample) => sample.t_s >= from && sample.t_s <= to);
  const first = inside[0];
  const last = inside[inside.length - 1];
  const seconds = first && last ? last.t_s - first.t_s : 0;
  return {
    from_s: round(from, 1),
    to_s: round(to, 1),
    rss_kib: round(mean(inside.map((sample) => sample.rss_kib)), 0),
    fds: round(mean(inside.map((sample) => sample.fds)), 1),
    requests_per_s: first && last && seconds > 0
      ? round((last.requests - first.requests) / seconds, 1)
      : NaN,
  };
}

/** Runs the phase; the exporter it starts is stopped before it returns. */
export async function runEndurance(options: EnduranceOptions): Promise<EnduranceResult> {
  const exporter = await startExporter(options.upstream, {
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
  });
  const server = exporter.process;
  try {
    const scenarios: Record<string, { runs: number; unexpected: number }> = {};
    let requests = 0;
    let unexpected = 0;
    let firstError: string | undefined;
    const start = performance.now();
    const end = start + options.seconds * 1000;
    const samples: EnduranceSample[] = [];
    const sample = () => {
      samples.push({
        t_s: round((performance.now() - start) / 1000, 2),
        rss_kib: server.memory().rss,
        fds: server.fdCount(),
        requests,
      });
    };
    const idle = { rss_kib: server.memory().rss, fds: server.fdCount() };
    const worker = async (index: number) => {
      let next = index;
      while (performance.now() < end) {
        const scenario = SCENARIOS[next++ % SCENARIOS.length]!;
        const record = scenarios[scenario.name] ??= { runs: 0, unexpected: 0 };
        let outcome: Outcome;
        try {
          outcome = await scenario.run(exporter.origin);
        } catch (error) {
          outcome = "unexpected";
          firstError ??= `${scenario.name}: ${error instanceof Error ? error.message : error}`;
        }
        record.runs++;
        requests++;
        if (outcome === "unexpected") {
          record.unexpected++;
          unexpected++;
          firstError ??= `${scenario.name}: did not end as expected`;
        }
      }
    };
    const scraper = async () => {
      while (performance.now() < end) {
        try {
          await plain(exporter.origin, "/metrics", {}, 200);
        } catch {
          // counted by the workers' failures if the exporter is gone
        }
        await delay(Math.min(5000, options.sampleSeconds * 1000));
      }
    };
    const sampler = async () => {
      while (performance.now() < end) {
        await delay(Math.min(options.sampleSeconds * 1000, Math.max(0, end - performance.now())));
        sample();
      }
    };
    await Promise.all([
      ...Array.from({ length: options.workers }, (_, i) => worker(i)),
      scraper(),
      sampler(),
    ]);
    const elapsed = (performance.now() - start) / 1000;
    await delay(1000);
    const fdsAfter = server.fdCount();
    const metrics = await (await fetch(`${exporter.origin}/metrics`)).text();
    const inFlightAfter = sumSamples(metrics, "ollama_requests_in_flight");
    const windowSeconds = Math.min(60, options.seconds / 3);
    const lastSample = samples[samples.length - 1]?.t_s ?? elapsed;
    // Each window holds at least one sample, however short the run (a smoke run samples every
    // second for a few seconds: its first sample may come just after the first window's end).
    const firstSample = samples[0]?.t_s ?? 0;
    const first = windowOf(samples, 0, Math.max(windowSeconds, firstSample));
    const last = windowOf(samples, Math.min(lastSample - windowSeconds, lastSample), lastSample);
    options.log(
      `  ${requests} requests in ${elapsed.toFixed(0)} s (${unexpected} unexpected); RSS ` +
        `${first.rss_kib} → ${last.rss_kib} KiB, fds ${first.fds} → ${last.fds}, ` +
        `in flight after: ${inFlightAfter}`,
    );
    return {
      seconds: round(elapsed, 1),
      window_seconds: round(windowSeconds, 1),
      requests,
      requests_per_s: round(requests / elapsed, 1),
      scenarios,
      unexpected,
      ...(firstError !== undefined ? { first_error: firstError } : {}),
      first,
      last,
      rss_growth_kib: round(last.rss_kib - first.rss_kib, 0),
      fd_growth: round(last.fds - first.fds, 1),
      idle_rss_kib: idle.rss_kib,
      idle_fds: idle.fds,
      hwm_kib: server.memory().hwm,
      fds_after: fdsAfter,
      in_flight_after: inFlightAfter,
      samples,
    };
  } finally {
    await server.stop();
  }
}
