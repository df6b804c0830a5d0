/**
 * The load benchmark: proves (or disproves) that the exporter is invisible. In one run, against
 * one fast upstream that speaks Ollama's wire format, it measures with wrk every workload
 * (`generate`, `chat`, `sse`, `tags`) through every target (`direct`, `bare`, `tap`,
 * `exporter`, `exporter-otel` with OpenTelemetry on and exporting to a local OTLP sink,
 * `exporter-before` from an earlier revision with `--baseline REV`, `nginx` when installed), then the extra delay each streamed chunk gets, 2,000
 * concurrent slow streams, a 60 MB embedding and a stretch of mixed traffic through the exporter.
 * It prints a table and writes `bench/results/latest.json`; it exits 1 when something looked
 * wrong (listed under "Problems"), 2 when it could not run.
 *
 * Run: `deno run --allow-all bench/load.ts [--smoke] [--duration 10] [--connections 32]
 * [--only generate,chat] [--targets direct,exporter] [--baseline 4587ad4] [--minutes 10]
 * [--skip-endurance]`
 * (`--help` lists every flag). Traffic goes to 127.0.0.1 only, and every phase is bounded.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type ConcurrencyResult, runConcurrency } from "./concurrency.ts";
import { type EnduranceResult, runEndurance } from "./endurance.ts";
import { RunVariants, type SinkReport } from "./exporter_variants.ts";
import { DEFAULT_TARGETS, Fleet, isTargetName, TARGET_NAMES, type TargetName } from "./fleet.ts";
import { type LargeBodyResult, runLargeBody } from "./large_body.ts";
import { machineInfo } from "./machine.ts";
import { nginxAvailable } from "./nginx.ts";
import { otelSection, sinkProblems } from "./otel_report.ts";
import { type BenchReport, formatReport, ratiosOf } from "./report.ts";
import { runStreamLatency, type StreamLatencyResult } from "./stream_latency.ts";
import {
  type Cell,
  checkTransparency,
  runThroughput,
  type TransparencyCheck,
} from "./throughput.ts";
import { wrkAvailable } from "./wrk.ts";
import { isWorkloadName, WORKLOAD_NAMES, type WorkloadName } from "./workloads.ts";

/** Where the JSON results go by default. */
export const DEFAULT_RESULTS = fileURLToPath(new URL("./results/latest.json", import.meta.url));

/** Where `--smoke` writes by default, so that it never replaces a real run's results. */
export const SMOKE_RESULTS = fileURLToPath(new URL("./results/smoke.json", import.meta.url));

/** The parts of a run, in the order they run. */
export const PHASE_NAMES = ["throughput", "latency", "concurrency", "large", "endurance"] as const;

/** One phase name. */
export type PhaseName = typeof PHASE_NAMES[number];

function isPhaseName(name: string): name is PhaseName {
  return (PHASE_NAMES as readonly string[]).includes(name);
}

/** CPU placement of client and servers. */
export type Placement = "spread" | "pinned";

/** The settings of one run, after flags and `--smoke` are applied. */
export interface LoadSettings {
  readonly duration: number;
  readonly warmup: number;
  readonly connections: number;
  readonly threads: number;
  readonly repeat: number;
  readonly workloads: readonly WorkloadName[];
  readonly targets: readonly TargetName[];
  /** The git revision `exporter-before` runs (`--baseline`), if any. */
  readonly baseline?: string;
  readonly placement: Placement;
  readonly latencyStreams: number;
  readonly latencyChunks: number;
  readonly latencyIntervalMs: number;
  readonly streams: number;
  readonly streamIntervalMs: number;
  readonly streamChunks: number;
  readonly embedBytes: number;
  readonly enduranceSeconds: number;
  readonly sampleSeconds: number;
  readonly workers: number;
  readonly phases: readonly PhaseName[];
  readonly smoke: boolean;
  readonly out: string;
}

const USAGE = `Usage: deno run --allow-all bench/load.ts [flags]

  --duration S        wrk seconds per cell (default 10)
  --connections N     wrk connections (default 32)
  --threads N         wrk threads (default 1)
  --repeat N          measure every cell N times, report the median (default 1)
  --only LIST         workloads: ${WORKLOAD_NAMES.join(",")} (default all)
  --targets LIST      targets: ${TARGET_NAMES.join(",")} (default all but
                      exporter-before; nginx only when installed; direct is always measured).
                      exporter-otel is the exporter with OTEL_DENO=true exporting to a local
                      OTLP sink (bench/otlp_sink.ts)
  --baseline REV      also measure exporter-before: main.ts of git revision REV (git archive),
                      started with that revision's own start task flags
  --placement P       spread (the kernel places everything) or pinned (wrk on CPU 0, servers on
                      CPU 1; needs 2 CPUs) (default spread: pinning was not stabler here, and it
                      leaves a proxy and the upstream one core between them)
  --streams N         concurrent slow streams through the exporter (default 2000)
  --embed-mb N        size of the large /api/embed body (default 60)
  --minutes N         endurance minutes (default 10)
  --skip-endurance    no endurance phase
  --phases LIST       ${PHASE_NAMES.join(",")} (default all)
  --smoke             tiny bounded run: 1 s per cell, 4 connections, 50 streams, 5 MB body, 5 s
                      endurance
  --out FILE          JSON results (default bench/results/latest.json; with --smoke,
                      bench/results/smoke.json)
`;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`--${name} must be a positive number, got "${text}"`);
  }
  return value;
}

function list<T extends string>(
  name: string,
  text: string | undefined,
  all: readonly T[],
  valid: (item: string) => item is T,
  fallback: readonly T[] = all,
): T[] {
  if (text === undefined) return [...fallback];
  const items = text.split(",").map((item) => item.trim()).filter((item) => item !== "");
  const bad = items.filter((item) => !valid(item));
  if (bad.length > 0 || items.length === 0) {
    throw new Error(`--${name} takes a comma-separated list of ${all.join(", ")}; got "${text}"`);
  }
  return all.filter((item) => items.includes(item));
}

/** Reads the flags; throws with a message naming the flag on a bad value. */
export function parseLoadArgs(args: readonly string[]): LoadSettings | "help" {
  const { values } = parseArgs({
    args: [...args],
    options: {
      duration: { type: "string" },
      connections: { type: "string" },
      threads: { type: "string" },
      repeat: { type: "string" },
      only: { type: "string" },
      targets: { type: "string" },
      baseline: { type: "string" },
      placement: { type: "string" },
      streams: { type: "string" },
      "embed-mb": { type: "string" },
      minutes: { type: "string" },
      "skip-endurance": { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
      out: { type: "string" },
      phases: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  const smoke = values.smoke;
  const placement = values.placement ?? "spread";
  if (placement !== "spread" && placement !== "pinned") {
    throw new Error(`--placement must be spread or pinned, got "${placement}"`);
  }
  let targets = list("targets", values.targets, TARGET_NAMES, isTargetName, DEFAULT_TARGETS);
  if (!targets.includes("direct")) targets.unshift("direct");
  const baseline = values.baseline?.trim();
  if (baseline === "") throw new Error("--baseline takes a git revision, got an empty one");
  if (baseline !== undefined && !targets.includes("exporter-before")) {
    targets = TARGET_NAMES.filter((name) => name === "exporter-before" || targets.includes(name));
  }
  if (baseline === undefined && targets.includes("exporter-before")) {
    throw new Error("--targets exporter-before needs --baseline REV (the revision to run)");
  }
  const duration = positive("duration", values.duration, smoke ? 1 : 10);
  const minutes = positive("minutes", values.minutes, smoke ? 5 / 60 : 10);
  return {
    duration,
    warmup: smoke ? 0 : Math.max(1, Math.round(duration / 5)),
    connections: Math.round(positive("connections", values.connections, smoke ? 4 : 32)),
    threads: Math.round(positive("threads", values.threads, 1)),
    repeat: Math.round(positive("repeat", values.repeat, 1)),
    workloads: list("only", values.only, WORKLOAD_NAMES, isWorkloadName),
    targets,
    ...(baseline !== undefined ? { baseline } : {}),
    placement,
    latencyStreams: smoke ? 3 : 20,
    latencyChunks: smoke ? 5 : 40,
    latencyIntervalMs: 50,
    streams: Math.round(positive("streams", values.streams, smoke ? 50 : 2000)),
    streamIntervalMs: smoke ? 100 : 500,
    streamChunks: smoke ? 10 : 20,
    embedBytes: Math.round(positive("embed-mb", values["embed-mb"], smoke ? 5 : 60) * 1e6),
    enduranceSeconds: Math.max(1, Math.round(minutes * 60)),
    sampleSeconds: smoke ? 1 : 5,
    workers: smoke ? 4 : 8,
    phases: list("phases", values.phases, PHASE_NAMES, isPhaseName).filter((phase) =>
      phase !== "endurance" || !values["skip-endurance"]
    ),
    smoke,
    out: values.out ?? (smoke ? SMOKE_RESULTS : DEFAULT_RESULTS),
  };
}

function log(line: string): void {
  console.error(line);
}

/** Runs the benchmark with `settings`; returns the report (also written to `settings.out`). */
export async function runLoad(settings: LoadSettings): Promise<BenchReport> {
  const started = new Date().toISOString();
  const problems: string[] = [];
  const machine = await machineInfo();
  const pinned = settings.placement === "pinned" && machine.nproc >= 2;
  if (settings.placement === "pinned" && !pinned) {
    log(`bench: only ${machine.nproc} CPU: running spread instead of pinned`);
  }
  const clientCpus = pinned ? "0" : undefined;
  const serverCpus = pinned ? { cpus: "1" } : {};
  let targets = settings.targets;
  if (targets.includes("nginx") && !nginxAvailable()) {
    log("bench: nginx is not installed: measuring without it");
    targets = targets.filter((target) => target !== "nginx");
  }
  const withExporter = targets.includes("exporter");
  const tempDir = await Deno.makeTempDir({ prefix: "ollama-exporter-bench-" });
  let transparency: TransparencyCheck[] = [];
  let cells: Cell[] = [];
  let streamLatency: StreamLatencyResult[] | null = null;
  let concurrency: ConcurrencyResult[] | null = null;
  let largeBody: LargeBodyResult[] | null = null;
  let endurance: EnduranceResult | null = null;
  let variants: RunVariants | undefined;
  let sink: SinkReport | null = null;
  const phase = async <T>(name: string, run: () => Promise<T>): Promise<T | null> => {
    log(`bench: ${name}`);
    try {
      return await run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      problems.push(`${name} failed: ${message}`);
      log(`bench: ${name} failed: ${message}`);
      return null;
    }
  };

  let fleet: Fleet | undefined;
  const stopOnSignal = () => {
    log("bench: interrupted: stopping the servers");
    Promise.allSettled([fleet?.stop(), variants?.finish()]).finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", stopOnSignal);
  Deno.addSignalListener("SIGTERM", stopOnSignal);
  try {
    variants = await RunVariants.prepare(targets, {
      ...(settings.baseline !== undefined ? { baselineRev: settings.baseline } : {}),
      tempDir,
      ...serverCpus,
    });
    if (variants.baseline) {
      log(`bench: exporter-before runs ${variants.baseline.rev} (${variants.baseline.commit})`);
    }
    const exporterVariants = variants.variants;
    if (exporterVariants.otlpEndpoint) {
      log(`bench: exporter-otel exports to the OTLP sink at ${exporterVariants.otlpEndpoint}`);
    }
    fleet = await Fleet.start(targets, { ...serverCpus, tempDir, variants: exporterVariants });
    const running = fleet;
    log(
      `bench: upstream ${running.upstream.origin}; ` +
        running.targets.map((target) => `${target.name} ${target.origin}`).join(", "),
    );
    transparency = await phase(
      "transparency check",
      () => checkTransparency(running, settings.workloads),
    ) ?? [];
    for (const check of transparency) {
      if (!check.identical) {
        problems.push(
          `${check.target} changed the ${check.workload} answer: ${check.differences.join("; ")}`,
        );
      }
    }
    const wants = (name: PhaseName) => settings.phases.includes(name);
    cells = !wants("throughput") ? [] : await phase(
      `throughput: ${settings.workloads.length} workloads × ${running.targets.length} targets × ` +
        `${settings.duration} s`,
      () =>
        runThroughput(running, {
          workloads: settings.workloads,
          durationSeconds: settings.duration,
          warmupSeconds: settings.warmup,
          connections: settings.connections,
          threads: settings.threads,
          repeat: settings.repeat,
          ...(clientCpus !== undefined ? { clientCpus } : {}),
          log,
        }),
    ) ?? [];
    if (wants("throughput")) {
      await phase("OTLP sink counts after the throughput cells", () => variants!.throughputDone());
    }
    for (const cell of cells) {
      if (cell.non2xx > 0) {
        problems.push(`${cell.workload}/${cell.target}: ${cell.non2xx} answers were not 2xx`);
      }
      if (cell.socket_errors > cell.requests * 0.01) {
        problems.push(`${cell.workload}/${cell.target}: ${cell.socket_errors} socket errors`);
      }
    }
    streamLatency = !wants("latency") ? null : await phase(
      `streaming latency: ${settings.latencyStreams} streams per target, a chunk every ` +
        `${settings.latencyIntervalMs} ms`,
      () =>
        runStreamLatency(running, {
          streams: settings.latencyStreams,
          intervalMs: settings.latencyIntervalMs,
          chunks: settings.latencyChunks,
        }),
    );
    for (const row of streamLatency ?? []) {
      if (row.incomplete > 0) problems.push(`${row.target}: ${row.incomplete} streams incomplete`);
    }
    const proxies = running.targets.flatMap((target) =>
      target.name === "direct" ? [] : [target.name]
    );
    if (proxies.length > 0) {
      concurrency = !wants("concurrency") ? null : await phase(
        `concurrency: ${settings.streams} slow streams through a fresh ${proxies.join(", ")}`,
        () =>
          runConcurrency({
            targets: proxies,
            streams: settings.streams,
            intervalMs: settings.streamIntervalMs,
            chunks: settings.streamChunks,
            batch: 200,
            upstream: running.upstream,
            tempDir,
            ...serverCpus,
            variants: exporterVariants,
            log,
          }),
      );
      for (const row of concurrency ?? []) {
        if (row.failed > 0) {
          problems.push(
            `concurrency: ${row.failed} of ${row.streams} streams through ${row.target} failed ` +
              `(first: ${row.first_error})`,
          );
        }
        if (row.in_flight_seen !== undefined && row.in_flight_seen !== row.open_when_measured) {
          problems.push(
            `concurrency: the exporter counted ${row.in_flight_seen} requests in flight while ` +
              `${row.open_when_measured} streams were open`,
          );
        }
      }
      largeBody = !wants("large") ? null : await phase(
        `large body: ${(settings.embedBytes / 1e6).toFixed(0)} MB /api/embed through a fresh ` +
          proxies.join(", "),
        () =>
          runLargeBody({
            targets: proxies,
            bytes: settings.embedBytes,
            upstream: running.upstream,
            tempDir,
            ...serverCpus,
            variants: exporterVariants,
            log,
          }),
      );
      for (const row of largeBody ?? []) {
        if (!row.identical || row.status !== 200) {
          problems.push(`large body: ${row.target} passed on a different answer`);
        }
      }
    }
    if (withExporter) {
      if (wants("endurance")) {
        endurance = await phase(
          `endurance: ${settings.enduranceSeconds} s of mixed traffic through a fresh exporter`,
          () =>
            runEndurance({
              seconds: settings.enduranceSeconds,
              sampleSeconds: settings.sampleSeconds,
              workers: settings.workers,
              upstream: running.upstream.origin,
              ...serverCpus,
              log,
            }),
        );
        if (endurance && endurance.unexpected > 0) {
          problems.push(
            `endurance: ${endurance.unexpected} requests did not end as expected ` +
              `(first: ${endurance.first_error})`,
          );
        }
        if (endurance && endurance.in_flight_after !== 0) {
          problems.push(
            `endurance: ollama_requests_in_flight is ${endurance.in_flight_after} after the traffic stopped`,
          );
        }
      }
    }
  } catch (error) {
    problems.push(`setup failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await fleet?.stop();
    // After the exporters stopped, so that what they flushed at exit is counted.
    sink = await variants?.finish() ?? null;
    Deno.removeSignalListener("SIGINT", stopOnSignal);
    Deno.removeSignalListener("SIGTERM", stopOnSignal);
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }

  problems.push(...sinkProblems(sink, settings.phases.includes("throughput")));
  const report: BenchReport = {
    schema: 1,
    started_at: started,
    finished_at: new Date().toISOString(),
    machine,
    settings: {
      duration: settings.duration,
      warmup: settings.warmup,
      connections: settings.connections,
      threads: settings.threads,
      repeat: settings.repeat,
      workloads: settings.workloads,
      targets,
      baseline: variants?.baseline
        ? { rev: variants.baseline.rev, commit: variants.baseline.commit }
        : null,
      placement: pinned ? "pinned (wrk on CPU 0, servers on CPU 1)" : "spread",
      latency_streams: settings.latencyStreams,
      latency_interval_ms: settings.latencyIntervalMs,
      streams: settings.streams,
      stream_interval_ms: settings.streamIntervalMs,
      embed_bytes: settings.embedBytes,
      phases: settings.phases,
      endurance_seconds: settings.phases.includes("endurance") ? settings.enduranceSeconds : 0,
      smoke: settings.smoke,
    },
    transparency,
    cells,
    ratios: ratiosOf(cells),
    stream_latency: streamLatency,
    concurrency,
    large_body: largeBody,
    endurance,
    opentelemetry: otelSection(targets, cells, variants?.baseline ?? null, sink),
    problems,
  };
  const dir = settings.out.slice(0, settings.out.lastIndexOf("/"));
  if (dir) await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(settings.out, JSON.stringify(report, null, 2) + "\n");
  return report;
}

if (import.meta.main) {
  let settings: LoadSettings | "help";
  try {
    settings = parseLoadArgs(Deno.args);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    Deno.exit(2);
  }
  if (settings === "help") {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (!wrkAvailable()) {
    console.error(
      "bench: wrk is not on PATH, and the throughput cells need it: install it with " +
        "`apt-get install wrk` (as .ci/run does)",
    );
    Deno.exit(2);
  }
  const report = await runLoad(settings);
  console.log(formatReport(report));
  console.log(`\nResults: ${settings.out}`);
  Deno.exit(report.problems.length > 0 ? 1 : 0);
}
