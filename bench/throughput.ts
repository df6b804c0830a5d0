/**
 * The throughput cells: every workload through every target with wrk, the CPU time the proxy
 * and the upstream spent per request, and first a check that each target answers each workload
 * byte for byte as the upstream does.
 *
 * @module
 */

import type { Fleet, Target, TargetName } from "./fleet.ts";
import { median, round } from "./stats.ts";
import { runWrk, type WrkResult } from "./wrk.ts";
import { fetchWorkload, type WorkloadName, WORKLOADS } from "./workloads.ts";

/** One workload through one target. */
export interface Cell {
  readonly workload: WorkloadName;
  readonly target: TargetName;
  /** Requests per second (median over repeats). */
  readonly rps: number;
  readonly p50_ms: number;
  readonly p75_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly mean_ms: number;
  readonly max_ms: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly socket_errors: number;
  /** CPU microseconds per request spent by the proxy process (0 for `direct`). */
  readonly proxy_cpu_us_per_req: number;
  /** CPU microseconds per request spent by the upstream. */
  readonly upstream_cpu_us_per_req: number;
  /** Requests per second of each repeat. */
  readonly rps_runs: number[];
}

/** How one target answered one workload compared with the upstream itself. */
export interface TransparencyCheck {
  readonly workload: WorkloadName;
  readonly target: TargetName;
  readonly identical: boolean;
  /** What differed, when something did. */
  readonly differences: string[];
  /** Header names only one side sent (besides `date`), for information. */
  readonly header_differences: string[];
}

/** Settings of the throughput phase. */
export interface ThroughputOptions {
  readonly workloads: readonly WorkloadName[];
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly threads: number;
  readonly repeat: number;
  /** CPUs for wrk. */
  readonly clientCpus?: string;
  readonly log: (line: string) => void;
}

interface Answer {
  status: number;
  headers: Map<string, string>;
  body: Uint8Array;
}

async function answer(origin: string, workload: WorkloadName): Promise<Answer> {
  const response = await fetchWorkload(origin, workload);
  const body = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers: new Map(response.headers), body };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Sends each workload once through each target and compares with the upstream's answer. */
export async function checkTransparency(
  fleet: Fleet,
  workloads: readonly WorkloadName[],
): Promise<TransparencyCheck[]> {
  const checks: TransparencyCheck[] = [];
  for (const workload of workloads) {
    const reference = await answer(fleet.upstream.origin, workload);
    for (const target of fleet.targets) {
      if (target.name === "direct") continue;
      const got = await answer(target.origin, workload);
      const differences: string[] = [];
      if (got.status !== reference.status) {
        differences.push(`status ${got.status}, upstream ${reference.status}`);
      }
      const type = got.headers.get("content-type");
      const referenceType = reference.headers.get("content-type");
      if (type !== referenceType) {
        differences.push(`content-type ${type}, upstream ${referenceType}`);
      }
      if (!sameBytes(got.body, reference.body)) {
        differences.push(
          `body differs (${got.body.length} bytes, upstream ${reference.body.length})`,
        );
      }
      const names = new Set([...got.headers.keys(), ...reference.headers.keys()]);
      const headerDifferences = [...names].filter((name) =>
        name !== "date" && got.headers.get(name) !== reference.headers.get(name)
      ).map((name) =>
        `${name}: ${got.headers.get(name) ?? "(none)"} (upstream ${
          reference.headers.get(name) ?? "(none)"
        })`
      );
      checks.push({
        workload,
        target: target.name,
        identical: differences.length === 0,
        differences,
        header_differences: headerDifferences,
      });
    }
  }
  return checks;
}

async function cpuOf(target: Target): Promise<number> {
  // nginx does its work in its worker, a child of the master we started.
  return target.process
    ? await target.process.cpuSeconds({ children: target.name === "nginx" })
    : 0;
}

/** Runs every cell `repeat` times, targets interleaved within each workload. */
export async function runThroughput(fleet: Fleet, options: ThroughputOptions): Promise<Cell[]> {
  const runs = new Map<string, { result: WrkResult; proxyCpu: number; upstreamCpu: number }[]>();
  const wrk = (target: Target, workload: WorkloadName, seconds: number) =>
    runWrk({
      origin: target.origin,
      request: WORKLOADS[workload],
      durationSeconds: seconds,
      connections: options.connections,
      threads: options.threads,
      scriptDir: fleet.tempDir,
      ...(options.clientCpus !== undefined ? { cpus: options.clientCpus } : {}),
    });
  for (let repeat = 0; repeat < options.repeat; repeat++) {
    for (const workload of options.workloads) {
      for (const target of fleet.targets) {
        if (options.warmupSeconds > 0) await wrk(target, workload, options.warmupSeconds);
        const proxyBefore = await cpuOf(target);
        const upstreamBefore = await fleet.upstream.process.cpuSeconds();
        const result = await wrk(target, workload, options.durationSeconds);
        const proxyCpu = await cpuOf(target) - proxyBefore;
        const upstreamCpu = await fleet.upstream.process.cpuSeconds() - upstreamBefore;
        const key = `${workload} ${target.name}`;
        runs.set(key, [...(runs.get(key) ?? []), { result, proxyCpu, upstreamCpu }]);
        options.log(
          `  ${workload.padEnd(8)} ${target.name.padEnd(15)} ${
            result.rps.toFixed(0).padStart(7)
          } req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms` +
            (result.non2xx ? `  non-2xx ${result.non2xx}` : "") +
            (result.socketErrors ? `  socket errors ${result.socketErrors}` : ""),
        );
      }
    }
  }
  const cells: Cell[] = [];
  for (const workload of options.workloads) {
    for (const target of fleet.targets) {
      const list = runs.get(`${workload} ${target.name}`) ?? [];
      // The run with the median throughput stands for the cell.
      const sorted = [...list].sort((a, b) => a.result.rps - b.result.rps);
      const chosen = sorted[Math.floor((sorted.length - 1) / 2)];
      if (!chosen) continue;
      const { result } = chosen;
      const requests = list.reduce((sum, run) => sum + run.result.requests, 0);
      const perRequest = (cpu: number) => requests > 0 ? round(cpu / requests * 1e6, 1) : NaN;
      cells.push({
        workload,
        target: target.name,
        rps: round(median(list.map((run) => run.result.rps)), 1),
        p50_ms: result.p50Ms,
        p75_ms: result.p75Ms,
        p90_ms: result.p90Ms,
        p99_ms: result.p99Ms,
        mean_ms: result.latencyMeanMs,
        max_ms: result.latencyMaxMs,
        requests,
        non2xx: list.reduce((sum, run) => sum + run.result.non2xx, 0),
        socket_errors: list.reduce((sum, run) => sum + run.result.socketErrors, 0),
        proxy_cpu_us_per_req: perRequest(list.reduce((sum, run) => sum + run.proxyCpu, 0)),
        upstream_cpu_us_per_req: perRequest(list.reduce((sum, run) => sum + run.upstreamCpu, 0)),
        rps_runs: list.map((run) => round(run.result.rps, 1)),
      });
    }
  }
  return cells;
}
