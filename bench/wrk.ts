/**
 * Runs `wrk` (with `--latency`) and reads its report: requests per second, latency percentiles,
 * non-2xx answers and socket errors. A POST body is sent through a small Lua script.
 *
 * @module
 */

import { onPath } from "./processes.ts";

/** What one wrk run measured. */
export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly latencyMeanMs: number;
  readonly latencyMaxMs: number;
  readonly p50Ms: number;
  readonly p75Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Answers with a status outside 2xx and 3xx. */
  readonly non2xx: number;
  /** connect + read + write + timeout errors. */
  readonly socketErrors: number;
  /** Bytes read, as wrk reports them (rounded by wrk). */
  readonly bytesRead: number;
}

/** One request shape for wrk. */
export interface WrkRequest {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** How to run wrk. */
export interface WrkOptions {
  /** Origin, `http://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly request: WrkRequest;
  readonly durationSeconds: number;
  readonly connections: number;
  readonly threads: number;
  /** CPUs to pin wrk to (`taskset -c`). */
  readonly cpus?: string;
  /** Where to write the Lua script. */
  readonly scriptDir: string;
}

const UNIT_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE: Record<string, number> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

function durationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!match) throw new Error(`Cannot read wrk duration "${text}"`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** Parses wrk's text report (run with `--latency`). Throws naming what is missing. */
export function parseWrkOutput(text: string): WrkResult {
  const need = (pattern: RegExp, what: string): RegExpExecArray => {
    const match = pattern.exec(text);
    if (!match) throw new Error(`Cannot read ${what} from wrk's output:\n${text}`);
    return match;
  };
  const latency = need(/^\s*Latency\s+(\S+)\s+\S+\s+(\S+)/m, "the latency line");
  const percentile = (p: number) =>
    durationMs(need(new RegExp(`^\\s*${p}%\\s+(\\S+)`, "m"), `the ${p}% latency`)[1]!);
  const total = need(
    /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read/m,
    "the request count",
  );
  const rps = Number(need(/^Requests\/sec:\s+([\d.]+)/m, "Requests/sec")[1]);
  const non2xx = /^\s*Non-2xx or 3xx responses:\s+(\d+)/m.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: Number(total[1]),
    seconds: durationMs(`${total[2]}${total[3]}`) / 1000,
    rps,
    latencyMeanMs: durationMs(latency[1]!),
    latencyMaxMs: durationMs(latency[2]!),
    p50Ms: percentile(50),
    p75Ms: percentile(75),
    p90Ms: percentile(90),
    p99Ms: percentile(99),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: socket ? socket.slice(1, 5).reduce((sum, n) => sum + Number(n), 0) : 0,
    bytesRead: Number(total[4]) * SIZE[total[5]!]!,
  };
}

/** The Lua script that makes wrk send `request`. */
export function wrkScript(request: WrkRequest): string {
  const lines = [`wrk.method = "${request.method}"`];
  if (request.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(request.body)}`);
  const headers = { ...request.headers };
  if (request.body !== undefined) headers["Content-Type"] ??= "application/json";
  for (const [name, value] of Object.entries(headers)) {
    lines.push(`wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`);
  }
  return lines.join("\n") + "\n";
}

/** Whether wrk is installed. */
export function wrkAvailable(): boolean {
  return onPath("wrk");
}

let scriptCounter = 0;

/**
 * Runs wrk once. The run is bounded by `durationSeconds` (wrk's `-d`) and, should wrk hang, by a
 * kill after `durationSeconds + 30` s.
 */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const script = `${options.scriptDir}/wrk_${++scriptCounter}.lua`;
  await Deno.writeTextFile(script, wrkScript(options.request));
  const args = [
    "-t",
    String(options.threads),
    "-c",
    String(options.connections),
    "-d",
    `${options.durationSeconds}s`,
    "--timeout",
    "10s",
    "--latency",
    "-s",
    script,
    options.origin + options.request.path,
  ];
  const argv = options.cpus !== undefined && onPath("taskset")
    ? ["taskset", "-c", options.cpus, "wrk", ...args]
    : ["wrk", ...args];
  const [command, ...rest] = argv as [string, ...string[]];
  const child = new Deno.Command(command, { args: rest, stdout: "piped", stderr: "piped" })
    .spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // ended meanwhile
    }
  }, (options.durationSeconds + 30) * 1000);
  const output = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr);
    throw new Error(
      `wrk against ${options.origin}${options.request.path} failed (exit ${output.code}): ${stderr}${stdout}`,
    );
  }
  return parseWrkOutput(stdout);
}
