/**
 * Many slow streams held open at once through a fresh proxy (the exporter, and the bare and tap
 * pass-throughs and nginx as yardsticks): its resident memory before, at the peak and per stream,
 * its open descriptors, and, for the exporter, how long a `/metrics` scrape takes while they are
 * open and whether it counts them all in flight.
 *
 * @module
 */

import {
  type Endpoint,
  type ExporterVariants,
  isExporterName,
  type ProxyName,
  startProxy,
} from "./fleet.ts";
import { sumSamples } from "./metrics_text.ts";
import { REQUEST_BODIES } from "./ollama_bodies.ts";
import { delay, nofileLimitOf } from "./processes.ts";
import { round } from "./stats.ts";
import { readStream } from "./stream_client.ts";

const MIB = 1024 * 1024;

/** Settings of the concurrency phase. */
export interface ConcurrencyOptions {
  /** Proxies to measure, one fresh process each, one after the other. */
  readonly targets: readonly ProxyName[];
  readonly streams: number;
  /** Milliseconds between the upstream's chunks. */
  readonly intervalMs: number;
  readonly chunks: number;
  /** Streams opened per batch, a batch every 50 ms (a gentle ramp keeps the accept queue short). */
  readonly batch: number;
  readonly upstream: Endpoint;
  readonly tempDir: string;
  readonly cpus?: string;
  /** What `exporter-otel` and `exporter-before` need to start. */
  readonly variants?: ExporterVariants;
  readonly log: (line: string) => void;
}

/** What the phase measured through one proxy. */
export interface ConcurrencyResult {
  readonly target: ProxyName;
  readonly streams: number;
  /** Streams that got every chunk and the final one. */
  readonly completed: number;
  readonly failed: number;
  /** Streams whose headers had arrived when the proxy was measured while holding them. */
  readonly open_when_measured: number;
  readonly proxy_nofile_limit: number;
  readonly client_nofile_limit: number;
  readonly baseline_rss_kib: number;
  /** Highest VmRSS sampled (every 100 ms), and VmHWM at the end. */
  readonly peak_rss_kib: number;
  readonly hwm_kib: number;
  readonly rss_per_stream_kib: number;
  readonly baseline_fds: number;
  readonly peak_fds: number;
  /** Exporter only: `ollama_requests_in_flight` summed while the streams were open. */
  readonly in_flight_seen?: number;
  /** Exporter only: how long `GET /metrics` took while the streams were open. */
  readonly metrics_scrape_ms?: number;
  /** Exporter only: its V8 heap (used, reserved) and external memory while the streams were open. */
  readonly heap_used_mib?: number;
  readonly heap_total_mib?: number;
  readonly external_mib?: number;
  readonly seconds: number;
  readonly first_error?: string;
}

async function holdStreams(
  target: ProxyName,
  proxy: Endpoint,
  options: ConcurrencyOptions,
  clientLimit: number,
): Promise<ConcurrencyResult> {
  const started = performance.now();
  const server = proxy.process;
  const children = { children: target === "nginx" };
  const proxyLimit = server.nofileLimit();
  if (proxyLimit < options.streams * 2 + 256) {
    throw new Error(
      `Cannot hold ${options.streams} streams through ${target}: it may open only ${proxyLimit} files`,
    );
  }
  // A few requests first, so that code paths are compiled and pools exist.
  for (let i = 0; i < 20; i++) {
    await readStream({
      url: `${proxy.origin}/api/chat`,
      body: REQUEST_BODIES.chat,
      timeoutMs: 10_000,
    });
  }
  await delay(500);
  const baseline = server.memory(children).rss;
  const baselineFds = server.fdCount(children);
  let peakRss = baseline;
  let peakFds = baselineFds;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        peakRss = Math.max(peakRss, server.memory(children).rss);
        peakFds = Math.max(peakFds, server.fdCount(children));
      } catch {
        // the proxy ended; the streams will say why
      }
      await delay(100);
    }
  })();

  let open = 0;
  let completed = 0;
  let failed = 0;
  let firstError: string | undefined;
  const timeoutMs = (options.chunks + 2) * options.intervalMs + 60_000;
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < options.streams; i++) {
    if (i > 0 && i % options.batch === 0) await delay(50);
    jobs.push((async () => {
      try {
        const outcome = await readStream({
          url: `${proxy.origin}/api/chat`,
          body: REQUEST_BODIES.chat,
          headers: {
            "x-bench-interval-ms": String(options.intervalMs),
            "x-bench-chunks": String(options.chunks),
          },
          timeoutMs,
          onHeaders: () => open++,
        });
        if (outcome.status === 200 && outcome.sawEnd && outcome.lines === options.chunks + 1) {
          completed++;
        } else {
          failed++;
          firstError ??= `status ${outcome.status}, ${outcome.lines} lines`;
        }
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    })());
  }
  // Hold: wait until every stream has its headers (or has failed), then measure.
  const holdDeadline = performance.now() + options.chunks * options.intervalMs;
  while (open + failed < options.streams && performance.now() < holdDeadline) await delay(20);
  const openWhenMeasured = open;
  let scrape:
    | {
      in_flight_seen: number;
      metrics_scrape_ms: number;
      heap_used_mib: number;
      heap_total_mib: number;
      external_mib: number;
    }
    | undefined;
  if (isExporterName(target)) {
    const scrapeStart = performance.now();
    const metrics = await (await fetch(`${proxy.origin}/metrics`, {
      signal: AbortSignal.timeout(10_000),
    })).text();
    scrape = {
      metrics_scrape_ms: round(performance.now() - scrapeStart, 2),
      in_flight_seen: sumSamples(metrics, "ollama_requests_in_flight"),
      heap_used_mib: round(sumSamples(metrics, "deno_heap_used_bytes") / MIB, 1),
      heap_total_mib: round(sumSamples(metrics, "deno_heap_total_bytes") / MIB, 1),
      external_mib: round(sumSamples(metrics, "deno_external_memory_bytes") / MIB, 1),
    };
  }
  await Promise.all(jobs);
  sampling = false;
  await sampler;
  const hwm = server.memory(children).hwm;
  // VmHWM covers the whole life of the process, start-up included; for nginx it sums processes.
  const peak = target === "nginx" ? peakRss : Math.max(peakRss, hwm);
  options.log(
    `  ${target.padEnd(15)} ${options.streams} streams: ${completed} complete, ${failed} failed; ` +
      `RSS ${baseline} KiB idle, ${peak} KiB peak; fds ${baselineFds} → ${peakFds}`,
  );
  return {
    target,
    streams: options.streams,
    completed,
    failed,
    open_when_measured: openWhenMeasured,
    proxy_nofile_limit: proxyLimit,
    client_nofile_limit: clientLimit,
    baseline_rss_kib: baseline,
    peak_rss_kib: peakRss,
    hwm_kib: hwm,
    rss_per_stream_kib: round((peak - baseline) / options.streams, 2),
    baseline_fds: baselineFds,
    peak_fds: peakFds,
    ...scrape,
    seconds: round((performance.now() - started) / 1000, 2),
    ...(firstError !== undefined ? { first_error: firstError } : {}),
  };
}

/** Runs the phase through each target in turn; each proxy it starts is stopped after its turn. */
export async function runConcurrency(options: ConcurrencyOptions): Promise<ConcurrencyResult[]> {
  const clientLimit = nofileLimitOf(Deno.pid);
  if (clientLimit < options.streams + 256) {
    throw new Error(
      `Cannot hold ${options.streams} streams: this process may open only ${clientLimit} files ` +
        `(raise it with "ulimit -n ${options.streams * 2}" before running the benchmark)`,
    );
  }
  const results: ConcurrencyResult[] = [];
  for (const target of options.targets) {
    const proxy = await startProxy(target, options.upstream, {
      tempDir: options.tempDir,
      ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
      ...(options.variants !== undefined ? { variants: options.variants } : {}),
    });
    try {
      results.push(await holdStreams(target, proxy, options, clientLimit));
    } finally {
      await proxy.process.stop();
    }
  }
  return results;
}
