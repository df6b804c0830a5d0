/**
 * What machine a benchmark ran on: CPU count and model, memory, kernel, Deno, wrk and nginx
 * versions.
 *
 * @module
 */

import { onPath } from "./processes.ts";

/** The machine facts written next to the results. */
export interface MachineInfo {
  readonly nproc: number;
  readonly cpu_model: string;
  readonly mem_total_kib: number;
  readonly kernel: string;
  readonly deno: string;
  readonly v8: string;
  readonly typescript: string;
  readonly wrk: string | null;
  readonly nginx: string | null;
}

async function commandText(command: string, args: string[]): Promise<string | null> {
  if (!onPath(command)) return null;
  try {
    const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
      .output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    return text.trim().split("\n")[0] ?? "";
  } catch {
    return null;
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return fallback;
  }
}

/** Collects the facts (from `nproc`, `/proc/cpuinfo`, `/proc/meminfo` and the tools). */
export async function machineInfo(): Promise<MachineInfo> {
  const nprocText = await commandText("nproc", []);
  const cpuinfo = readOr("/proc/cpuinfo", "");
  const meminfo = readOr("/proc/meminfo", "");
  return {
    nproc: Number(nprocText ?? NaN) || navigator.hardwareConcurrency,
    cpu_model: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    mem_total_kib: Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? NaN),
    kernel: readOr("/proc/sys/kernel/osrelease", "unknown").trim(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    wrk: await commandText("wrk", ["--version"]),
    nginx: await commandText("nginx", ["-v"]),
  };
}
