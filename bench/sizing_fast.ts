/**
 * The sizing benchmark's phases against the fast fake upstream (`fast_upstream.ts`), each through
 * a fresh exporter started as `deno task start` starts it:
 *
 * - **idle**: resident memory once ready and after a warm-up of every workload, and the CPU an
 *   idle exporter spends (its health checks of Ollama);
 * - **rate**: wrk at full speed per workload: CPU per request and per chunk, the cores used at
 *   that rate, and the resident memory it takes;
 * - **held**: N slow streams held open at once for several N (one family per exporter, N
 *   ascending): resident memory against N (the slope is the memory per stream), and the CPU per
 *   chunk when every chunk arrives on its own, as a real model's tokens do.
 *
 * @module
 */

import { type Endpoint, startExporter } from "./fleet.ts";
import { REQUEST_BODIES } from "./ollama_bodies.ts";
import { delay, nofileLimitOf } from "./processes.ts";
import { measureWindow, scrapeGauges, type WindowStats } from "./sizing_process.ts";
import { round } from "./stats.ts";
import { readStream } from "./stream_client.ts";
import { runWrk } from "./wrk.ts";
import { fetchWorkload, type WorkloadName, WORKLOADS } from "./workloads.ts";

/** Chunks in each of the fast upstream's plain streams (20 tokens and the final chunk). */
const PLAIN_STREAM_CHUNKS = 21;

/** Settings of the idle phase. */
export interface IdleOptions {
  /** Requests of each workload before the warm measurement. */
  readonly warmRequests: number;
  /** Seconds of idleness over which CPU is measured. */
  readonly idleSeconds: number;
  /** Milliseconds between the warm-up and the warm reading. */
  readonly settleMs: number;
  readonly log: (line: string) => void;
}

/** What the idle phase measured. */
export interface IdleResult {
  /** VmRSS once `/readyz` answered. */
  readonly cold_rss_kib: number;
  /** VmRSS `settleMs` after `warm_requests` requests of each workload. */
  readonly warm_rss_kib: number;
  readonly warm_requests: number;
  /** CPU while idle (health checks every 15 s, timers), in thousandths of a core. */
  readonly idle_millicores: number;
  readonly idle_window: WindowStats;
}

/** Sends one request of `workload` and reads the whole answer. */
async function once(origin: string, workload: WorkloadName): Promise<void> {
  const response = await fetchWorkload(origin, workload);
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${WORKLOADS[workload].path} answered ${response.status}`);
}

/** Runs the idle phase through a fresh exporter in front of `upstream`. */
export async function runIdle(upstream: Endpoint, options: IdleOptions): Promise<IdleResult> {
  const exporter = await startExporter(upstream.origin);
  try {
    const cold = exporter.process.memory().rss;
    for (const workload of Object.keys(WORKLOADS) as WorkloadName[]) {
      for (let i = 0; i < options.warmRequests; i++) await once(exporter.origin, workload);
    }
    await delay(options.settleMs);
    const warm = exporter.process.memory().rss;
    const { window } = await measureWindow(
      exporter.process,
      () => delay(options.idleSeconds * 1000),
      500,
    );
    const result: IdleResult = {
      cold_rss_kib: cold,
      warm_rss_kib: warm,
      warm_requests: options.warmRequests,
      // From the CPU seconds, not the rounded cores: one clock tick over 20 s is 0.5 millicores.
      idle_millicores: round(window.cpu_s / window.seconds * 1000, 2),
      idle_window: window,
    };
    options.log(
      `  idle: RSS ${cold} KiB ready, ${warm} KiB warm; ${result.idle_millicores} millicores ` +
        `over ${options.idleSeconds} s (load ${window.load_start}→${window.load_end})`,
    );
    return result;
  } finally {
    await exporter.process.stop();
  }
}

/** Settings of the rate phase. */
export interface RateOptions {
  readonly workloads: readonly WorkloadName[];
  readonly seconds: number;
  /** Unmeasured seconds of each workload first (0: none). */
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly tempDir: string;
  readonly log: (line: string) => void;
}

/** One workload at full speed. */
export interface RateCell {
  readonly workload: WorkloadName;
  readonly what: string;
  readonly connections: number;
  readonly rps: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly socket_errors: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly cpu_us_per_request: number;
  /** For the streams (`chat`, `sse`): CPU µs per chunk of the 21-chunk answer. */
  readonly cpu_us_per_chunk: number | null;
  readonly window: WindowStats;
}

/** Runs the rate phase through one fresh exporter (each workload warmed up first). */
export async function runRate(upstream: Endpoint, options: RateOptions): Promise<RateCell[]> {
  const exporter = await startExporter(upstream.origin);
  const cells: RateCell[] = [];
  try {
    for (const workload of options.workloads) {
      const request = WORKLOADS[workload];
      const wrk = {
        origin: exporter.origin,
        request,
        connections: options.connections,
        threads: 1,
        scriptDir: options.tempDir,
      };
      if (options.warmupSeconds > 0) {
        await runWrk({ ...wrk, durationSeconds: options.warmupSeconds });
      }
      const { value, window } = await measureWindow(
        exporter.process,
        () => runWrk({ ...wrk, durationSeconds: options.seconds }),
      );
      const us = window.cpu_s * 1e6;
      const streamed = workload === "chat" || workload === "sse";
      const cell: RateCell = {
        workload,
        what: request.what,
        connections: options.connections,
        rps: round(value.rps, 0),
        requests: value.requests,
        non2xx: value.non2xx,
        socket_errors: value.socketErrors,
        p50_ms: value.p50Ms,
        p99_ms: value.p99Ms,
        cpu_us_per_request: round(us / Math.max(1, value.requests), 1),
        cpu_us_per_chunk: streamed
          ? round(us / Math.max(1, value.requests * PLAIN_STREAM_CHUNKS), 2)
          : null,
        window,
      };
      cells.push(cell);
      options.log(
        `  rate ${workload.padEnd(8)} ${cell.rps} req/s, ${cell.cpu_us_per_request} µs/req, ` +
          `${window.cores} cores, RSS ${window.rss_start_kib}→${window.rss_peak_kib} KiB peak ` +
          `(load ${window.load_start}→${window.load_end})`,
      );
    }
    return cells;
  } finally {
    await exporter.process.stop();
  }
}

/** Stream families the fast upstream can pace. */
export const HELD_FAMILIES = ["chat", "sse"] as const;

/** One held-stream family. */
export type HeldFamily = typeof HELD_FAMILIES[number];

/** Whether `name` is a held-stream family. */
export function isHeldFamily(name: string): name is HeldFamily {
  return (HELD_FAMILIES as readonly string[]).includes(name);
}

/** Settings of the held-streams phase. */
export interface HeldOptions {
  readonly families: readonly HeldFamily[];
  /** Streams held at once, ascending. */
  readonly levels: readonly number[];
  /** Milliseconds between the upstream's chunks. */
  readonly intervalMs: number;
  /** Intermediate chunks per stream (the final chunk comes on top). */
  readonly chunks: number;
  /** Streams opened per 50 ms while ramping up. */
  readonly batch: number;
  /** Milliseconds to wait before the last RSS reading (what V8 gives back). */
  readonly settleMs: number;
  readonly log: (line: string) => void;
}

/** N streams of one family held open at once. */
export interface HeldLevel {
  readonly family: HeldFamily;
  readonly streams: number;
  readonly completed: number;
  readonly failed: number;
  /** Lines the clients read. */
  readonly chunks: number;
  /** VmRSS when every stream had its headers (all open at once). */
  readonly rss_open_kib: number;
  /** `ollama_requests_in_flight` and the V8 heap at that moment. */
  readonly in_flight_seen: number;
  readonly heap_used_mib: number;
  readonly heap_total_mib: number;
  readonly cpu_us_per_stream: number;
  readonly cpu_us_per_chunk: number;
  readonly chunks_per_s: number;
  readonly window: WindowStats;
  readonly first_error?: string;
}

/** One family's levels through one exporter. */
export interface HeldResult {
  readonly family: HeldFamily;
  readonly warm_rss_kib: number;
  readonly levels: HeldLevel[];
  /** Least-squares slope of peak VmRSS against streams (the warm exporter as 0 streams). */
  readonly kib_per_stream: number;
  /** Where that line meets 0 streams. */
  readonly intercept_kib: number;
  /** VmRSS `settleMs` after the last level ended (what V8 keeps), and VmHWM. */
  readonly rss_after_kib: number;
  readonly hwm_kib: number;
}

/** Least-squares line through `points` (x, y): slope and intercept. */
export function fitLine(points: readonly [number, number][]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: NaN, intercept: NaN };
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : NaN;
  return { slope, intercept: my - slope * mx };
}

async function holdLevel(
  exporter: Endpoint,
  family: HeldFamily,
  streams: number,
  options: HeldOptions,
): Promise<HeldLevel> {
  const path = family === "chat" ? "/api/chat" : "/v1/chat/completions";
  const body = family === "chat" ? REQUEST_BODIES.chat : REQUEST_BODIES.openai;
  const expectedLines = family === "chat" ? options.chunks + 1 : options.chunks + 2;
  let open = 0;
  let completed = 0;
  let failed = 0;
  let chunks = 0;
  let firstError: string | undefined;
  let atHold: { rss: number; inFlight: number; heapUsed: number; heapTotal: number } | undefined;
  const timeoutMs = (options.chunks + 2) * options.intervalMs + 60_000;
  const { window } = await measureWindow(exporter.process, async () => {
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < streams; i++) {
      if (i > 0 && i % options.batch === 0) await delay(50);
      jobs.push((async () => {
        let lines = 0;
        try {
          const outcome = await readStream({
            url: exporter.origin + path,
            body,
            headers: {
              "x-bench-interval-ms": String(options.intervalMs),
              "x-bench-chunks": String(options.chunks),
            },
            timeoutMs,
            onHeaders: () => open++,
            onLine: () => lines++,
          });
          if (outcome.status === 200 && outcome.sawEnd && lines >= expectedLines) {
            completed++;
          } else {
            failed++;
            firstError ??= `status ${outcome.status}, ${lines} lines`;
          }
        } catch (error) {
          failed++;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
        chunks += lines;
      })());
    }
    const holdDeadline = performance.now() + options.chunks * options.intervalMs;
    while (open + failed < streams && performance.now() < holdDeadline) await delay(20);
    const rss = exporter.process.memory().rss;
    const gauges = await scrapeGauges(exporter.origin);
    atHold = {
      rss,
      inFlight: gauges.in_flight,
      heapUsed: gauges.heap_used_mib,
      heapTotal: gauges.heap_total_mib,
    };
    await Promise.all(jobs);
  });
  const us = window.cpu_s * 1e6;
  const level: HeldLevel = {
    family,
    streams,
    completed,
    failed,
    chunks,
    rss_open_kib: atHold?.rss ?? NaN,
    in_flight_seen: atHold?.inFlight ?? NaN,
    heap_used_mib: atHold?.heapUsed ?? NaN,
    heap_total_mib: atHold?.heapTotal ?? NaN,
    cpu_us_per_stream: round(us / Math.max(1, streams), 1),
    cpu_us_per_chunk: round(us / Math.max(1, chunks), 2),
    chunks_per_s: round(chunks / window.seconds, 0),
    window,
    ...(firstError !== undefined ? { first_error: firstError } : {}),
  };
  options.log(
    `  held ${family.padEnd(4)} ${String(streams).padStart(5)} streams: ${completed} complete, ` +
      `${failed} failed; RSS ${level.rss_open_kib} KiB open, ${window.rss_peak_kib} KiB peak; ` +
      `${level.cpu_us_per_chunk} µs/chunk at ${level.chunks_per_s} chunks/s ` +
      `(load ${window.load_start}→${window.load_end})`,
  );
  return level;
}

/** Runs the held-streams phase: per family a fresh exporter, the levels in ascending order. */
export async function runHeld(upstream: Endpoint, options: HeldOptions): Promise<HeldResult[]> {
  const largest = Math.max(...options.levels);
  const clientLimit = nofileLimitOf(Deno.pid);
  if (clientLimit < largest + 256) {
    throw new Error(
      `Cannot hold ${largest} streams: this process may open only ${clientLimit} files ` +
        `(raise it with "ulimit -n ${largest * 2}")`,
    );
  }
  const results: HeldResult[] = [];
  for (const family of options.families) {
    const exporter = await startExporter(upstream.origin);
    try {
      const workload: WorkloadName = family === "chat" ? "chat" : "sse";
      for (let i = 0; i < 20; i++) await once(exporter.origin, workload);
      await delay(Math.min(options.settleMs, 1000));
      const warm = exporter.process.memory().rss;
      const levels: HeldLevel[] = [];
      for (const streams of [...options.levels].sort((a, b) => a - b)) {
        levels.push(await holdLevel(exporter, family, streams, options));
        await delay(500);
      }
      const { slope, intercept } = fitLine([
        [0, warm],
        ...levels.map((level): [number, number] => [level.streams, level.window.rss_peak_kib]),
      ]);
      await delay(options.settleMs);
      const memory = exporter.process.memory();
      results.push({
        family,
        warm_rss_kib: warm,
        levels,
        kib_per_stream: round(slope, 1),
        intercept_kib: Math.round(intercept),
        rss_after_kib: memory.rss,
        hwm_kib: memory.hwm,
      });
      options.log(
        `  held ${family}: ${round(slope, 1)} KiB per stream (warm ${warm} KiB); ` +
          `RSS ${memory.rss} KiB ${options.settleMs / 1000} s after, VmHWM ${memory.hwm} KiB`,
      );
    } finally {
      await exporter.process.stop();
    }
  }
  return results;
}
