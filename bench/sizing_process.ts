/**
 * The sizing benchmark's view of processes (the exporter itself starts with `startExporter` of
 * `fleet.ts`, as every bench target does): a measuring window over one process (CPU seconds from
 * `/proc/PID/stat`, VmRSS sampled every 100 ms, the load average at both ends), and the CPU time
 * of a process together with its children (Ollama's model runners).
 *
 * @module
 */

import { sumSamples } from "./metrics_text.ts";
import {
  childrenOf,
  clockTicksPerSecond,
  cpuTicksOf,
  delay,
  type ServerProcess,
} from "./processes.ts";
import { mean, round } from "./stats.ts";

const MIB = 1024 * 1024;

/** The 1, 5 and 15 minute load averages (`/proc/loadavg`), or `NaN`s without it. */
export function loadAverage(): [number, number, number] {
  try {
    const fields = Deno.readTextFileSync("/proc/loadavg").split(" ").map(Number);
    return [fields[0] ?? NaN, fields[1] ?? NaN, fields[2] ?? NaN];
  } catch {
    return [NaN, NaN, NaN];
  }
}

/** CPU seconds of `pid` and, recursively, of its children (an Ollama server and its runners). */
export async function treeCpuSeconds(pid: number): Promise<number> {
  let ticks = 0;
  const seen = new Set<number>();
  const visit = (id: number): void => {
    if (seen.has(id)) return;
    seen.add(id);
    try {
      ticks += cpuTicksOf(id);
    } catch {
      return; // ended meanwhile
    }
    for (const child of childrenOf(id)) visit(child);
  };
  visit(pid);
  return ticks / await clockTicksPerSecond();
}

/** What one window measured of the exporter. */
export interface WindowStats {
  readonly seconds: number;
  /** User + system CPU seconds the exporter spent in the window. */
  readonly cpu_s: number;
  /** `cpu_s / seconds`: cores it kept busy on average. */
  readonly cores: number;
  readonly rss_start_kib: number;
  /** Highest VmRSS sampled in the window. */
  readonly rss_peak_kib: number;
  readonly rss_mean_kib: number;
  readonly rss_end_kib: number;
  /** The 1-minute load average at the start and the end of the window. */
  readonly load_start: number;
  readonly load_end: number;
}

/** Runs `work` while measuring `server`; resolves with what `work` gave and the window's numbers. */
export async function measureWindow<T>(
  server: ServerProcess,
  work: () => Promise<T>,
  sampleMs = 100,
): Promise<{ value: T; window: WindowStats }> {
  const rssStart = server.memory().rss;
  const samples: number[] = [rssStart];
  const loadStart = loadAverage()[0];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await delay(sampleMs);
      try {
        samples.push(server.memory().rss);
      } catch {
        // the exporter ended; the work will say why
      }
    }
  })();
  const cpuStart = await server.cpuSeconds();
  const started = performance.now();
  let value: T;
  try {
    value = await work();
  } finally {
    sampling = false;
    await sampler;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = await server.cpuSeconds() - cpuStart;
  const rssEnd = server.memory().rss;
  samples.push(rssEnd);
  return {
    value,
    window: {
      seconds: round(seconds, 3),
      cpu_s: round(cpu, 3),
      cores: round(cpu / seconds, 3),
      rss_start_kib: rssStart,
      rss_peak_kib: Math.max(...samples),
      rss_mean_kib: Math.round(mean(samples)),
      rss_end_kib: rssEnd,
      load_start: loadStart,
      load_end: loadAverage()[0],
    },
  };
}

/** The exporter's own numbers from one `/metrics` scrape. */
export interface ExporterGauges {
  readonly tokens_generated: number;
  readonly in_flight: number;
  readonly heap_used_mib: number;
  readonly heap_total_mib: number;
  readonly external_mib: number;
  /** Size of the exposition text. */
  readonly metrics_bytes: number;
}

/** Scrapes `origin/metrics` once. */
export async function scrapeGauges(origin: string): Promise<ExporterGauges> {
  const response = await fetch(`${origin}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${origin}/metrics answered ${response.status}`);
  return {
    tokens_generated: sumSamples(text, "ollama_tokens_generated_total"),
    in_flight: sumSamples(text, "ollama_requests_in_flight"),
    heap_used_mib: round(sumSamples(text, "deno_heap_used_bytes") / MIB, 1),
    heap_total_mib: round(sumSamples(text, "deno_heap_total_bytes") / MIB, 1),
    external_mib: round(sumSamples(text, "deno_external_memory_bytes") / MIB, 1),
    metrics_bytes: new TextEncoder().encode(text).length,
  };
}
