/**
 * The sizing benchmark (issue #14): how much memory and CPU the exporter needs as a sidecar, per
 * request, per stream and per streamed token, so that resource requests and limits can be set
 * from numbers. Every exporter it measures is a fresh process started exactly as `deno task
 * start` starts it. Phases:
 *
 * - `idle`: resident memory once ready and warmed up, CPU while idle;
 * - `rate`: the fast fake upstream at full speed through wrk (CPU per request and per chunk, cores
 *   used, memory at that rate);
 * - `held`: N paced streams held open at once, several N (memory per stream, CPU per chunk when
 *   chunks arrive one by one);
 * - `real`: a REAL Ollama (`../shared/real-ollama`, model `tiny`) kept busy by N concurrent
 *   streaming generations of 256 tokens, per API family (native NDJSON, OpenAI SSE,
 *   `/v1/messages`): CPU per request, per chunk and per token, memory.
 *
 * It prints tables and a recommendation (requests and limits, with the arithmetic) and writes
 * `bench/results/sizing/latest.json` (`--smoke`: `bench/results/sizing/smoke.json`, not kept in
 * git). It exits 1 when something went wrong (listed under "Problems"), 2 when it could not run.
 *
 * Run: `deno task bench:sizing [--smoke] [--phases idle,rate,held,real] [--repeat 2]`
 * (`--help` lists every flag). Traffic stays on 127.0.0.1 and every phase is bounded; every
 * generation asks for a token limit.
 *
 * @module
 */

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startUpstream } from "./fleet.ts";
import { machineInfo } from "./machine.ts";
import { adviceFor, formatSizing, sizingInputs, type SizingReport } from "./sizing_report.ts";
import {
  HELD_FAMILIES,
  type HeldFamily,
  type HeldResult,
  type IdleResult,
  isHeldFamily,
  type RateCell,
  runHeld,
  runIdle,
  runRate,
} from "./sizing_fast.ts";
import { loadAverage } from "./sizing_process.ts";
import {
  FAMILY_NAMES,
  type FamilyName,
  isFamilyName,
  realOllamaAbsent,
  type RealResult,
  runReal,
} from "./sizing_real.ts";
import { wrkAvailable } from "./wrk.ts";
import { isWorkloadName, WORKLOAD_NAMES, type WorkloadName } from "./workloads.ts";

/** Where a full run writes its JSON. */
export const DEFAULT_SIZING_RESULTS = fileURLToPath(
  new URL("./results/sizing/latest.json", import.meta.url),
);

/** Where `--smoke` writes (ignored by git). */
export const SMOKE_SIZING_RESULTS = fileURLToPath(
  new URL("./results/sizing/smoke.json", import.meta.url),
);

/** The phases, in the order they run. */
export const SIZING_PHASES = ["idle", "rate", "held", "real"] as const;

/** One phase. */
export type SizingPhase = typeof SIZING_PHASES[number];

function isSizingPhase(name: string): name is SizingPhase {
  return (SIZING_PHASES as readonly string[]).includes(name);
}

/** The settings of one run, after flags and `--smoke` are applied. */
export interface SizingSettings {
  readonly phases: readonly SizingPhase[];
  readonly smoke: boolean;
  readonly settleMs: number;
  readonly idleSeconds: number;
  readonly warmRequests: number;
  readonly rateWorkloads: readonly WorkloadName[];
  readonly rateSeconds: number;
  readonly rateWarmupSeconds: number;
  readonly connections: number;
  readonly heldFamilies: readonly HeldFamily[];
  readonly heldLevels: readonly number[];
  readonly heldIntervalMs: number;
  readonly heldChunks: number;
  readonly families: readonly FamilyName[];
  readonly levels: readonly number[];
  readonly maxTokens: number;
  readonly shortTokens: number;
  readonly shortStreams: number;
  readonly seconds: number;
  readonly repeat: number;
  readonly numParallel: number;
  readonly model: string;
  readonly scrapes: number;
  readonly out: string;
}

const USAGE = `Usage: deno run --allow-all bench/sizing.ts [flags]   (deno task bench:sizing)

  --phases LIST        ${SIZING_PHASES.join(",")} (default all)
  --smoke              tiny bounded run (about 15 s): 1 s cells, 2 real streams of 16 tokens,
                       20 and 50 held streams
  --repeat N           run the real-Ollama cells N times, interleaved; medians reported (default 2)
  --seconds S          seconds each real-Ollama cell keeps starting generations (default 8)
  --levels LIST        concurrent real generations per cell (default 1,4,16,48)
  --families LIST      ${FAMILY_NAMES.join(",")} (default all)
  --max-tokens N       token limit of each real generation (default 256)
  --short-tokens N     a second limit, at --short-streams streams, to split CPU per request
                       from CPU per chunk (default 16; 0: none)
  --short-streams N    (default 4)
  --num-parallel N     the real Ollama's OLLAMA_NUM_PARALLEL (default 16)
  --model NAME         real model (default tiny)
  --held-levels LIST   streams held open at once (default 250,500,1000,2000)
  --held-families LIST ${HELD_FAMILIES.join(",")} (default all)
  --rate-seconds S     wrk seconds per workload (default 5)
  --only LIST          rate workloads: ${WORKLOAD_NAMES.join(",")} (default all)
  --connections N      wrk connections (default 32)
  --idle-seconds S     idle CPU window (default 20: includes a health check)
  --out FILE           JSON results (default bench/results/sizing/latest.json; with --smoke,
                       bench/results/sizing/smoke.json)
`;

function positive(name: string, text: string | undefined, fallback: number, zero = false) {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zero)) {
    throw new Error(`--${name} must be a ${zero ? "non-negative" : "positive"} number: "${text}"`);
  }
  return value;
}

function numbers(name: string, text: string | undefined, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  const values = text.split(",").map((item) => Number(item.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new Error(`--${name} takes a comma-separated list of positive integers: "${text}"`);
  }
  return values;
}

function names<T extends string>(
  name: string,
  text: string | undefined,
  all: readonly T[],
  valid: (item: string) => item is T,
): T[] {
  if (text === undefined) return [...all];
  const items = text.split(",").map((item) => item.trim()).filter((item) => item !== "");
  if (items.length === 0 || items.some((item) => !valid(item))) {
    throw new Error(`--${name} takes a comma-separated list of ${all.join(", ")}: "${text}"`);
  }
  return all.filter((item) => items.includes(item));
}

/** Reads the flags; throws naming the flag on a bad value. */
export function parseSizingArgs(args: readonly string[]): SizingSettings | "help" {
  const { values } = parseArgs({
    args: [...args],
    options: {
      phases: { type: "string" },
      smoke: { type: "boolean", default: false },
      repeat: { type: "string" },
      seconds: { type: "string" },
      levels: { type: "string" },
      families: { type: "string" },
      "max-tokens": { type: "string" },
      "short-tokens": { type: "string" },
      "short-streams": { type: "string" },
      "num-parallel": { type: "string" },
      model: { type: "string" },
      "held-levels": { type: "string" },
      "held-families": { type: "string" },
      "rate-seconds": { type: "string" },
      only: { type: "string" },
      connections: { type: "string" },
      "idle-seconds": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  const smoke = values.smoke;
  const levels = numbers("levels", values.levels, smoke ? [2] : [1, 4, 16, 48]);
  return {
    phases: names("phases", values.phases, SIZING_PHASES, isSizingPhase),
    smoke,
    settleMs: smoke ? 200 : 3000,
    idleSeconds: positive("idle-seconds", values["idle-seconds"], smoke ? 1 : 20),
    warmRequests: smoke ? 5 : 50,
    rateWorkloads: names("only", values.only, WORKLOAD_NAMES, isWorkloadName),
    rateSeconds: Math.round(positive("rate-seconds", values["rate-seconds"], smoke ? 1 : 5)),
    rateWarmupSeconds: smoke ? 0 : 1,
    connections: Math.round(positive("connections", values.connections, smoke ? 4 : 32)),
    heldFamilies: names("held-families", values["held-families"], HELD_FAMILIES, isHeldFamily)
      .slice(0, smoke && values["held-families"] === undefined ? 1 : undefined),
    heldLevels: numbers(
      "held-levels",
      values["held-levels"],
      smoke ? [20, 50] : [250, 500, 1000, 2000],
    ),
    heldIntervalMs: smoke ? 100 : 500,
    heldChunks: smoke ? 5 : 20,
    families: names("families", values.families, FAMILY_NAMES, isFamilyName),
    levels,
    maxTokens: Math.round(positive("max-tokens", values["max-tokens"], smoke ? 16 : 256)),
    shortTokens: Math.round(
      positive("short-tokens", values["short-tokens"], smoke ? 0 : 16, true),
    ),
    shortStreams: Math.round(positive("short-streams", values["short-streams"], smoke ? 2 : 4)),
    seconds: positive("seconds", values.seconds, smoke ? 1 : 8),
    repeat: Math.round(positive("repeat", values.repeat, smoke ? 1 : 2)),
    numParallel: Math.round(positive("num-parallel", values["num-parallel"], smoke ? 2 : 16)),
    model: values.model ?? "tiny",
    scrapes: smoke ? 3 : 20,
    out: values.out ?? (smoke ? SMOKE_SIZING_RESULTS : DEFAULT_SIZING_RESULTS),
  };
}

function log(line: string): void {
  console.error(line);
}

/** Runs the benchmark; returns the report (also written to `settings.out`). */
export async function runSizing(settings: SizingSettings): Promise<SizingReport> {
  const started = new Date().toISOString();
  const machine = await machineInfo();
  const loadBefore = loadAverage();
  log(`sizing: load average ${loadBefore.join(" ")} before the first phase`);
  const problems: string[] = [];
  const skipped: Record<string, string> = {};
  let idle: IdleResult | undefined;
  let rate: RateCell[] | undefined;
  let held: HeldResult[] | undefined;
  let real: RealResult | undefined;
  const fastPhases = settings.phases.filter((phase) => phase !== "real");
  if (fastPhases.length > 0) {
    const tempDir = await Deno.makeTempDir({ prefix: "sizing-" });
    const upstream = await startUpstream();
    try {
      if (settings.phases.includes("idle")) {
        log("sizing: idle");
        idle = await runIdle(upstream, {
          warmRequests: settings.warmRequests,
          idleSeconds: settings.idleSeconds,
          settleMs: settings.settleMs,
          log,
        });
      }
      if (settings.phases.includes("rate")) {
        if (!wrkAvailable()) {
          skipped.rate = "wrk is not installed (apt-get install wrk)";
        } else {
          log("sizing: rate");
          rate = await runRate(upstream, {
            workloads: settings.rateWorkloads,
            seconds: settings.rateSeconds,
            warmupSeconds: settings.rateWarmupSeconds,
            connections: settings.connections,
            tempDir,
            log,
          });
          for (const cell of rate) {
            if (cell.non2xx > 0 || cell.socket_errors > 0) {
              problems.push(
                `rate ${cell.workload}: ${cell.non2xx} non-2xx, ${cell.socket_errors} socket errors`,
              );
            }
          }
        }
      }
      if (settings.phases.includes("held")) {
        log("sizing: held");
        held = await runHeld(upstream, {
          families: settings.heldFamilies,
          levels: settings.heldLevels,
          intervalMs: settings.heldIntervalMs,
          chunks: settings.heldChunks,
          batch: 50,
          settleMs: settings.settleMs,
          log,
        });
        for (const family of held) {
          for (const level of family.levels) {
            if (level.failed > 0 || level.completed !== level.streams) {
              problems.push(
                `held ${family.family} ×${level.streams}: ${level.completed} complete, ` +
                  `${level.failed} failed (${level.first_error})`,
              );
            }
          }
        }
      }
    } finally {
      await upstream.process.stop();
      await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    }
  }
  if (settings.phases.includes("real")) {
    const absent = realOllamaAbsent();
    if (absent !== null) {
      skipped.real = absent;
    } else {
      log("sizing: real");
      real = await runReal({
        families: settings.families,
        levels: settings.levels,
        maxTokens: settings.maxTokens,
        shortTokens: settings.shortTokens,
        shortStreams: settings.shortStreams,
        seconds: settings.seconds,
        repeat: settings.repeat,
        numParallel: settings.numParallel,
        model: settings.model,
        scrapes: settings.scrapes,
        settleMs: settings.settleMs,
        log,
      });
      problems.push(...real.problems);
    }
  }
  const inputs = sizingInputs({
    ...(idle ? { idle } : {}),
    ...(rate ? { rate } : {}),
    ...(held ? { held } : {}),
    ...(real ? { real } : {}),
  });
  const report: SizingReport = {
    started,
    finished: new Date().toISOString(),
    machine,
    settings: { ...settings },
    load_before: loadBefore,
    load_after: loadAverage(),
    ...(idle ? { idle } : {}),
    ...(rate ? { rate } : {}),
    ...(held ? { held } : {}),
    ...(real ? { real } : {}),
    skipped,
    inputs,
    advice: adviceFor(inputs),
    problems,
  };
  await Deno.mkdir(dirname(settings.out), { recursive: true });
  await Deno.writeTextFile(settings.out, JSON.stringify(report, null, 2) + "\n");
  return report;
}

if (import.meta.main) {
  let settings: SizingSettings | "help";
  try {
    settings = parseSizingArgs(Deno.args);
  } catch (error) {
    console.error(`sizing: ${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    Deno.exit(2);
  }
  if (settings === "help") {
    console.log(USAGE);
    Deno.exit(0);
  }
  let report: SizingReport;
  try {
    report = await runSizing(settings);
  } catch (error) {
    console.error(`sizing: could not run: ${error instanceof Error ? error.stack : error}`);
    Deno.exit(2);
  }
  console.log(formatSizing(report));
  console.log(`\nResults: ${settings.out}`);
  Deno.exit(report.problems.length > 0 ? 1 : 0);
}
