/**
 * Test helper for the benchmark smoke tests (`tests/bench_*_test.ts` that run a script of bench/
 * whole): wrk required, the script run with `--out <file>` under a time limit, and the JSON report
 * it wrote.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** A JSON object of a report. */
export type Json = Record<string, unknown>;

function onPath(command: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return dir !== "" && Deno.statSync(`${dir}/${command}`).isFile;
    } catch {
      return false;
    }
  });
}

/** Throws, saying `why` wrk is needed, when wrk is not on the PATH (.ci/run installs it). */
export function requireWrk(why: string): void {
  if (!onPath("wrk")) {
    throw new Error(
      `wrk is not installed, so ${why}: install it with \`apt-get install wrk\` (.ci/run does)`,
    );
  }
}

/** Asserts `value` is a finite number; `what` names it in the message. */
export function assertNumber(value: unknown, what: string): asserts value is number {
  assert.ok(
    typeof value === "number" && Number.isFinite(value),
    `${what} should be a finite number, got ${JSON.stringify(value)}`,
  );
}

/**
 * Runs `deno run --allow-all bench/<script> <args> --out <temporary file>`, killed after
 * `timeLimitMs`; asserts it exits 0 (the end of its output in the message) and returns its output
 * (stdout then stderr) and the report it wrote. The file is removed afterwards.
 */
export async function runBenchScript(
  script: string,
  args: readonly string[],
  timeLimitMs: number,
): Promise<{ text: string; report: Json }> {
  const path = fileURLToPath(new URL(`../../bench/${script}`, import.meta.url));
  const out = await Deno.makeTempFile({
    prefix: `bench-${script.replace(/\.ts$/, "")}-`,
    suffix: ".json",
  });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", path, ...args, "--out", out],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), timeLimitMs);
    const output = await child.output();
    clearTimeout(timer);
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assert.equal(
      output.code,
      0,
      `bench/${script} ${args[0] ?? ""} exited ${output.code}:\n${text.slice(-6000)}`,
    );
    return { text, report: JSON.parse(await Deno.readTextFile(out)) as Json };
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}
