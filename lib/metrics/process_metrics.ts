/**
 * The usual process metrics, plus Deno's heap figures, all read at collect time.
 *
 * @module
 */

import process from "node:process";
import type { Registry } from "./registry.ts";

const FD_DIRECTORY = "/proc/self/fd";
const LIMITS_FILE = "/proc/self/limits";

/**
 * Registers `process_resident_memory_bytes`, `process_cpu_seconds_total` (user + system, from
 * `node:process` `cpuUsage()`), `process_start_time_seconds` (`performance.timeOrigin`),
 * `deno_heap_used_bytes`, `deno_heap_total_bytes` and `deno_external_memory_bytes`
 * (`Deno.memoryUsage()`), and, when `/proc/self` can be read, `process_open_fds` and
 * `process_max_fds`.
 *
 * The two fd gauges need `--allow-all` on Linux: Deno 2 treats every path under `/proc`, `/dev`
 * and `/sys` as a special file that only `--allow-all` may open, list or stat, whatever
 * `--allow-read` grants (`/proc/self/fd`, `/proc/<pid>/fd`, `/proc/thread-self/fd`, `/dev/fd` and
 * `/proc/self/limits` alike, even with plain `--allow-read`), and it has no other API for the
 * number of open descriptors or their limit. So they are left out silently when a probe at
 * registration fails, as under `deno task start`; if reading fails later, they keep their last
 * values. The other gauges need no permission.
 *
 * @throws {Error} when one of these names is already registered.
 */
export function registerProcessMetrics(registry: Registry): void {
  registry.gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    collect: (gauge) => gauge.set(Deno.memoryUsage().rss),
  });
  registry.counter({
    name: "process_cpu_seconds_total",
    help: "Total user and system CPU time spent in seconds.",
    collect: (counter) => {
      const usage = process.cpuUsage();
      const seconds = (usage.user + usage.system) / 1e6;
      const delta = seconds - counter.labels().value;
      if (delta > 0) counter.inc(delta);
    },
  });
  registry.gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since unix epoch in seconds.",
    collect: (gauge) => gauge.set(performance.timeOrigin / 1000),
  });
  registry.gauge({
    name: "deno_heap_used_bytes",
    help: "V8 heap memory in use, in bytes.",
    collect: (gauge) => gauge.set(Deno.memoryUsage().heapUsed),
  });
  registry.gauge({
    name: "deno_heap_total_bytes",
    help: "V8 heap memory reserved, in bytes.",
    collect: (gauge) => gauge.set(Deno.memoryUsage().heapTotal),
  });
  registry.gauge({
    name: "deno_external_memory_bytes",
    help: "Memory of JavaScript objects bound to C++ objects managed by V8, in bytes.",
    collect: (gauge) => gauge.set(Deno.memoryUsage().external),
  });

  if (readable(() => Deno.readDirSync(FD_DIRECTORY)[Symbol.iterator]().next())) {
    registry.gauge({
      name: "process_open_fds",
      help: "Number of open file descriptors.",
      collect: async (gauge) => {
        const count = await quietly(countOpenFds);
        if (count !== undefined) gauge.set(count);
      },
    });
  }
  if (readable(() => Deno.readTextFileSync(LIMITS_FILE))) {
    registry.gauge({
      name: "process_max_fds",
      help: "Maximum number of open file descriptors.",
      collect: async (gauge) => {
        const limit = await quietly(readMaxFds);
        if (limit !== undefined) gauge.set(limit);
      },
    });
  }
}

async function countOpenFds(): Promise<number> {
  let count = 0;
  for await (const _ of Deno.readDir(FD_DIRECTORY)) count++;
  return count - 1; // The directory handle used to list it.
}

async function readMaxFds(): Promise<number | undefined> {
  const limits = await Deno.readTextFile(LIMITS_FILE);
  const line = limits.split("\n").find((candidate) => candidate.startsWith("Max open files"));
  const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
  if (soft === "unlimited") return Infinity;
  const value = Number(soft);
  return Number.isFinite(value) ? value : undefined;
}

function readable(probe: () => unknown): boolean {
  try {
    probe();
    return true;
  } catch {
    return false;
  }
}

/** Runs `read`, turning the errors of a missing or forbidden `/proc` into `undefined`. */
async function quietly<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (
      error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied ||
      error instanceof Deno.errors.NotFound
    ) return undefined;
    throw error;
  }
}
