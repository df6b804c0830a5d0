/**
 * The servers a benchmark run talks to, each its own process so that no two share an event loop:
 * the fast upstream, and in front of it the targets `bare` and `tap` (minimal Deno
 * pass-throughs), `exporter` (the real one, `main.ts`) and `nginx` (when installed). `direct` is
 * the upstream itself.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { startNginx } from "./nginx.ts";
import { freePort, ServerProcess } from "./processes.ts";

/** Target names, in report order. */
export const TARGET_NAMES = ["direct", "bare", "tap", "exporter", "nginx"] as const;

/** One target name. */
export type TargetName = typeof TARGET_NAMES[number];

/** The targets that are proxies (all but `direct`). */
export type ProxyName = Exclude<TargetName, "direct">;

/** Whether `name` is a target name. */
export function isTargetName(name: string): name is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(name);
}

/** The repository root (where `main.ts` is). */
export const REPO_ROOT: string = fileURLToPath(new URL("../", import.meta.url));

const BENCH_DIR = fileURLToPath(new URL("./", import.meta.url));

/** A server and its address. */
export interface Endpoint {
  readonly origin: string;
  readonly port: number;
  readonly process: ServerProcess;
}

/** One thing to send requests to; `process` is the proxy (absent for `direct`). */
export interface Target {
  readonly name: TargetName;
  readonly origin: string;
  readonly process?: ServerProcess;
}

/** Starts one of the bench's own Deno servers (`script` in bench/) and waits for its port. */
async function startBenchServer(
  name: string,
  script: string,
  options: { args: string[]; cpus?: string },
): Promise<Endpoint> {
  const port = freePort();
  const process = ServerProcess.launch({
    name,
    command: Deno.execPath(),
    args: [
      "run",
      "--allow-net",
      `${BENCH_DIR}${script}`,
      ...options.args,
      "--port",
      String(port),
      "--watch-stdin",
    ],
    stdinPipe: true,
    nofile: 65536,
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
  });
  await process.waitForPort(port, 30_000);
  return { origin: `http://127.0.0.1:${port}`, port, process };
}

/** Starts the fast upstream. */
export function startUpstream(options: { cpus?: string } = {}): Promise<Endpoint> {
  return startBenchServer("upstream", "fast_upstream.ts", { args: [], ...options });
}

/** Starts a bare or tap pass-through in front of `upstream`. */
export function startPassThrough(
  mode: "bare" | "tap",
  upstream: string,
  options: { cpus?: string } = {},
): Promise<Endpoint> {
  return startBenchServer(mode, "pass_through.ts", {
    args: ["--mode", mode, "--upstream", upstream],
    ...options,
  });
}

/**
 * The flags of deno.json's `start` task (V8 and permission flags), so that the benchmark runs the
 * exporter exactly as `deno task start` and the Docker image do.
 */
export function startTaskFlags(): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}deno.json`)).tasks;
  const words = String(tasks.start).split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "main.ts") {
    throw new Error(
      `Cannot read the start task's flags: "${tasks.start}" is not "deno run ... main.ts"`,
    );
  }
  return words.slice(2, -1);
}

/**
 * Starts the real exporter (`main.ts`) in front of `upstream` with the start task's flags, and
 * `LOG_LEVEL=WARNING` so that per-request log lines do not distort the numbers; resolves once
 * `/readyz` answers 200 (it has seen the upstream and admitted its models).
 */
export async function startExporter(
  upstream: string,
  options: { cpus?: string; nofile?: number } = {},
): Promise<Endpoint> {
  const port = freePort();
  const process = ServerProcess.launch({
    name: "exporter",
    command: Deno.execPath(),
    args: ["run", ...startTaskFlags(), "main.ts"],
    cwd: REPO_ROOT,
    env: {
      OLLAMA_HOST: upstream,
      PORT: String(port),
      LISTEN_HOST: "127.0.0.1",
      LOG_LEVEL: "WARNING",
    },
    nofile: options.nofile ?? 65536,
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
  });
  const origin = `http://127.0.0.1:${port}`;
  try {
    await process.waitForOk(`${origin}/readyz`, 30_000);
  } catch (error) {
    await process.stop();
    throw error;
  }
  return { origin, port, process };
}

let nginxCount = 0;

/**
 * Starts a fresh proxy of kind `name` in front of `upstream` (nginx keeps its files in a new
 * directory under `tempDir`).
 */
export async function startProxy(
  name: ProxyName,
  upstream: Endpoint,
  options: { cpus?: string; tempDir: string },
): Promise<Endpoint> {
  const cpus = options.cpus !== undefined ? { cpus: options.cpus } : {};
  if (name === "bare" || name === "tap") return await startPassThrough(name, upstream.origin, cpus);
  if (name === "exporter") return await startExporter(upstream.origin, cpus);
  const dir = `${options.tempDir}/nginx-${++nginxCount}`;
  await Deno.mkdir(dir, { recursive: true });
  const port = freePort();
  const process = await startNginx({ dir, port, upstreamPort: upstream.port, ...cpus });
  return { port, origin: `http://127.0.0.1:${port}`, process };
}

/** The running targets and the upstream behind them. */
export class Fleet {
  /** The fast upstream. */
  readonly upstream: Endpoint;
  /** The targets, in report order. */
  readonly targets: readonly Target[];
  #tempDir: string;

  private constructor(upstream: Endpoint, targets: Target[], tempDir: string) {
    this.upstream = upstream;
    this.targets = targets;
    this.#tempDir = tempDir;
  }

  /**
   * Starts the upstream and the `names` targets (nginx only when `nginx` is true: installed and
   * asked for). On failure, stops what had started and rethrows.
   */
  static async start(
    names: readonly TargetName[],
    options: { cpus?: string; tempDir: string },
  ): Promise<Fleet> {
    const cpus = options.cpus !== undefined ? { cpus: options.cpus } : {};
    const started: ServerProcess[] = [];
    try {
      const upstream = await startUpstream(cpus);
      started.push(upstream.process);
      const targets: Target[] = [];
      for (const name of names) {
        if (name === "direct") {
          targets.push({ name, origin: upstream.origin });
          continue;
        }
        const endpoint = await startProxy(name, upstream, options);
        started.push(endpoint.process);
        targets.push({ name, origin: endpoint.origin, process: endpoint.process });
      }
      return new Fleet(upstream, targets, options.tempDir);
    } catch (error) {
      await Promise.all(started.map((process) => process.stop()));
      throw error;
    }
  }

  /** The target called `name`, if it runs. */
  target(name: TargetName): Target | undefined {
    return this.targets.find((target) => target.name === name);
  }

  /** Stops every process. */
  async stop(): Promise<void> {
    await Promise.all([
      ...this.targets.flatMap((target) => target.process ? [target.process.stop()] : []),
      this.upstream.process.stop(),
    ]);
  }

  /** The temporary directory (nginx configuration, wrk scripts). */
  get tempDir(): string {
    return this.#tempDir;
  }
}
