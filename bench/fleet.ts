/**
 * The servers a benchmark run talks to, each its own process so that no two share an event loop:
 * the fast upstream, and in front of it the targets `bare` and `tap` (minimal Deno
 * pass-throughs), `exporter` (the real one, `main.ts`), `exporter-otel` (the same with Deno's
 * OpenTelemetry on, exporting to an OTLP sink), `exporter-before` (`main.ts` of an earlier
 * revision, `--baseline`) and `nginx` (when installed). `direct` is the upstream itself.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { startNginx } from "./nginx.ts";
import { freePort, ServerProcess } from "./processes.ts";

/** Target names, in report order. */
export const TARGET_NAMES = [
  "direct",
  "bare",
  "tap",
  "exporter-before",
  "exporter",
  "exporter-otel",
  "nginx",
] as const;

/** One target name. */
export type TargetName = typeof TARGET_NAMES[number];

/** The targets measured when `--targets` is not given (`exporter-before` needs `--baseline`). */
export const DEFAULT_TARGETS: readonly TargetName[] = TARGET_NAMES.filter((name) =>
  name !== "exporter-before"
);

/** The targets that are proxies (all but `direct`). */
export type ProxyName = Exclude<TargetName, "direct">;

/** The targets that run the exporter's `main.ts` (and answer `/metrics`). */
export type ExporterName = Extract<TargetName, `exporter${string}`>;

/** Whether `name` is a target name. */
export function isTargetName(name: string): name is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(name);
}

/** Whether target `name` is an exporter (`exporter`, `exporter-otel`, `exporter-before`). */
export function isExporterName(name: string): name is ExporterName {
  return name === "exporter" || name === "exporter-otel" || name === "exporter-before";
}

/** The repository root (where `main.ts` is). */
export const REPO_ROOT: string = fileURLToPath(new URL("../", import.meta.url));

const BENCH_DIR = fileURLToPath(new URL("./", import.meta.url));

/** The OpenTelemetry settings of the `exporter-otel` target, besides the endpoint. */
export const OTEL_ENV: Readonly<Record<string, string>> = {
  OTEL_DENO: "true",
  OTEL_SERVICE_NAME: "ollama-exporter-bench",
  OTEL_METRIC_EXPORT_INTERVAL: "10000",
};

/** What the exporter variants need beyond the upstream. */
export interface ExporterVariants {
  /** The OTLP/HTTP endpoint `exporter-otel` exports to. */
  readonly otlpEndpoint?: string;
  /** The directory of the earlier revision `exporter-before` runs (see `baseline.ts`). */
  readonly baselineRoot?: string;
}

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

/**
 * Starts one of the bench's own Deno servers (`script` in bench/, `--allow-net` only, told
 * `--port` and `--watch-stdin`) and waits for its port; stops it when it does not listen.
 */
export async function startBenchServer(
  name: string,
  script: string,
  options: { args: string[]; cpus?: string; nofile?: number },
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
    ...(options.nofile !== undefined ? { nofile: options.nofile } : {}),
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
  });
  try {
    await process.waitForPort(port, 30_000);
  } catch (error) {
    await process.stop();
    throw error;
  }
  return { origin: `http://127.0.0.1:${port}`, port, process };
}

/** Starts the fast upstream. */
export function startUpstream(options: { cpus?: string } = {}): Promise<Endpoint> {
  return startBenchServer("upstream", "fast_upstream.ts", { args: [], nofile: 65536, ...options });
}

/** Starts a bare or tap pass-through in front of `upstream`. */
export function startPassThrough(
  mode: "bare" | "tap",
  upstream: string,
  options: { cpus?: string } = {},
): Promise<Endpoint> {
  return startBenchServer(mode, "pass_through.ts", {
    args: ["--mode", mode, "--upstream", upstream],
    nofile: 65536,
    ...options,
  });
}

/**
 * The flags of the `start` task in `root`'s deno.json (V8 and permission flags), so that the
 * benchmark runs the exporter exactly as `deno task start` and the Docker image do.
 */
export function startTaskFlags(root: string = REPO_ROOT): string[] {
  const file = `${root.replace(/\/+$/, "")}/deno.json`;
  const tasks = JSON.parse(Deno.readTextFileSync(file)).tasks;
  const words = String(tasks?.start).split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || words.at(-1) !== "main.ts") {
    throw new Error(
      `Cannot read the start task's flags in ${file}: "${tasks?.start}" is not "deno run ... main.ts"`,
    );
  }
  return words.slice(2, -1);
}

/** How to start one exporter. */
export interface ExporterOptions {
  readonly cpus?: string;
  readonly nofile?: number;
  /** The name in messages (default `exporter`). */
  readonly name?: string;
  /** The checkout to run (default this one); its own `start` task gives the flags. */
  readonly root?: string;
  /** Turns Deno's OpenTelemetry on ({@linkcode OTEL_ENV}), exporting to this endpoint. */
  readonly otlpEndpoint?: string;
  /** Variables added last (after the ones set here). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * This process's environment without `OTEL_*` variables, so that only the `exporter-otel` target
 * has OpenTelemetry on even when the harness runs with `OTEL_DENO` set.
 */
function environmentWithoutOtel(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) => !name.startsWith("OTEL_")),
  );
}

/**
 * Starts the real exporter (`main.ts`) in front of `upstream` with the start task's flags, and
 * `LOG_LEVEL=WARNING` so that per-request log lines do not distort the numbers; resolves once
 * `/readyz` answers 200 (it has seen the upstream and admitted its models).
 */
export async function startExporter(
  upstream: string,
  options: ExporterOptions = {},
): Promise<Endpoint> {
  const port = freePort();
  const root = options.root ?? REPO_ROOT;
  const process = ServerProcess.launch({
    name: options.name ?? "exporter",
    command: Deno.execPath(),
    args: ["run", ...startTaskFlags(root), "main.ts"],
    cwd: root,
    env: {
      ...environmentWithoutOtel(),
      OLLAMA_HOST: upstream,
      PORT: String(port),
      LISTEN_HOST: "127.0.0.1",
      LOG_LEVEL: "WARNING",
      ...(options.otlpEndpoint !== undefined
        ? { ...OTEL_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpEndpoint }
        : {}),
      ...options.env,
    },
    clearEnv: true,
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

/** Starts the exporter target `name` in front of `upstream`; throws when `variants` lacks what it needs. */
function startExporterTarget(
  name: ExporterName,
  upstream: string,
  options: { cpus?: string; variants?: ExporterVariants },
): Promise<Endpoint> {
  const cpus = options.cpus !== undefined ? { cpus: options.cpus } : {};
  if (name === "exporter") return startExporter(upstream, cpus);
  if (name === "exporter-otel") {
    const otlpEndpoint = options.variants?.otlpEndpoint;
    if (otlpEndpoint === undefined) {
      throw new Error("Cannot start exporter-otel: no OTLP sink to export to was given");
    }
    return startExporter(upstream, { ...cpus, name, otlpEndpoint });
  }
  const root = options.variants?.baselineRoot;
  if (root === undefined) {
    throw new Error("Cannot start exporter-before: no earlier revision was given (--baseline REV)");
  }
  return startExporter(upstream, { ...cpus, name, root });
}

let nginxCount = 0;

/** Where and how proxies start. */
export interface ProxyOptions {
  /** CPUs to pin them to. */
  readonly cpus?: string;
  /** A directory for files (nginx configuration, wrk scripts). */
  readonly tempDir: string;
  /** What `exporter-otel` and `exporter-before` need. */
  readonly variants?: ExporterVariants;
}

/**
 * Starts a fresh proxy of kind `name` in front of `upstream` (nginx keeps its files in a new
 * directory under `tempDir`).
 */
export async function startProxy(
  name: ProxyName,
  upstream: Endpoint,
  options: ProxyOptions,
): Promise<Endpoint> {
  const cpus = options.cpus !== undefined ? { cpus: options.cpus } : {};
  if (name === "bare" || name === "tap") return await startPassThrough(name, upstream.origin, cpus);
  if (isExporterName(name)) return await startExporterTarget(name, upstream.origin, options);
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
    options: ProxyOptions,
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
