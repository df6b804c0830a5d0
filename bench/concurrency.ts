/**
 * Many slow streams held open at once through a fresh exporter: its resident memory before, at
 * the peak and per stream, its open descriptors, and how long a `/metrics` scrape takes while
 * they are open.
 *
 * @module
 */

import { startExporter } from "./fleet.ts";
import { sumSamples } from "./metrics_text.ts";
import { delay, nofileLimitOf } from "./processes.ts";
import { REQUEST_BODIES } from "./ollama_bodies.ts";
import { round } from "./stats.ts";
import { readStream } from "./stream_client.ts";

/** Settings of the concurrency phase. */
export interface ConcurrencyOptions {
  readonly streams: number;
  /** Milliseconds between the upstream's chunks. */
  readonly intervalMs: number;
  readonly chunks: number;
  /** Streams opened per batch, a batch every 50 ms (a gentle ramp keeps the accept queue short). */
  readonly batch: number;
  readonly upstream: string;
  readonly cpus?: string;
  readonly log: (line: string) => void;
}

/** What the phase measured. */
export interface ConcurrencyResult {
  readonly streams: number;
  /** Streams that got every chunk and the final one. */
  readonly completed: number;
  readonly failed: number;
  /** Streams whose headers had arrived when the exporter was measured while holding them. */
  readonly open_when_measured: number;
  readonly exporter_nofile_limit: number;
  readonly client_nofile_limit: number;
  readonly baseline_rss_kib: number;
  /** Highest VmRSS sampled, and VmHWM at the end. */
  readonly peak_rss_kib: number;
  readonly hwm_kib: number;
  readonly rss_per_stream_kib: number;
  readonly baseline_fds: number;
  readonly peak_fds: number;
  /** `ollama_requests_in_flight` summed, scraped while the streams were open. */
  readonly in_flight_seen: number;
  readonly metrics_scrape_ms: number;
  readonly seconds: number;
  readonly first_error?: string;
}

/** Runs the phase; the exporter it starts is stopped before it returns. */
export async function runConcurrency(options: ConcurrencyOptions): Promise<ConcurrencyResult> {
  const clientLimit = nofileLimitOf(Deno.pid);
  if (clientLimit < options.streams + 256) {
    throw new Error(
      `Cannot hold ${options.streams} streams: this process may open only ${clientLimit} files ` +
        `(raise it with "ulimit -n ${options.streams * 2}" before running the benchmark)`,
    );
  }
  const exporter = await startExporter(options.upstream, {
    nofile: 65536,
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
  });
  const started = performance.now();
  try {
    const server = exporter.process;
    const exporterLimit = server.nofileLimit();
    if (exporterLimit < options.streams * 2 + 256) {
      throw new Error(
        `Cannot hold ${options.streams} streams: the exporter may open only ${exporterLimit} files`,
      );
    }
    // A few requests first, so that code paths are compiled and pools exist.
    for (let i = 0; i < 20; i++) {
      await readStream({
        url: `${exporter.origin}/api/chat`,
        body: REQUEST_BODIES.chat,
        timeoutMs: 10_000,
      });
    }
    await delay(500);
    const baseline = server.memory().rss;
    const baselineFds = server.fdCount();
    let peakRss = baseline;
    let peakFds = baselineFds;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          peakRss = Math.max(peakRss, server.memory().rss);
          peakFds = Math.max(peakFds, server.fdCount());
        } catch {
          // the exporter ended; the streams will say why
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
            url: `${exporter.origin}/api/chat`,
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
    const scrapeStart = performance.now();
    const metrics = await (await fetch(`${exporter.origin}/metrics`, {
      signal: AbortSignal.timeout(10_000),
    })).text();
    const scrapeMs = performance.now() - scrapeStart;
    const inFlight = sumSamples(metrics, "ollama_requests_in_flight");
    await Promise.all(jobs);
    sampling = false;
    await sampler;
    const hwm = server.memory().hwm;
    const peak = Math.max(peakRss, hwm);
    options.log(
      `  ${options.streams} streams: ${completed} complete, ${failed} failed; exporter RSS ` +
        `${baseline} KiB idle, ${peak} KiB peak, fds ${baselineFds} → ${peakFds}`,
    );
    return {
      streams: options.streams,
      completed,
      failed,
      open_when_measured: openWhenMeasured,
      exporter_nofile_limit: exporterLimit,
      client_nofile_limit: clientLimit,
      baseline_rss_kib: baseline,
      peak_rss_kib: peakRss,
      hwm_kib: hwm,
      rss_per_stream_kib: round((peak - baseline) / options.streams, 2),
      baseline_fds: baselineFds,
      peak_fds: peakFds,
      in_flight_seen: inFlight,
      metrics_scrape_ms: round(scrapeMs, 2),
      seconds: round((performance.now() - started) / 1000, 2),
      ...(firstError !== undefined ? { first_error: firstError } : {}),
    };
  } finally {
    await exporter.process.stop();
  }
}
