/**
 * Test helper: the exporter as its own process (`deno task start` or `deno run main.ts`), for
 * start-up, signals and memory measured apart from the test's own process.
 *
 * @module
 */

import { startTaskFlags } from "../../bench/fleet.ts";
import { freePort } from "./processes.ts";

/**
 * The flags of deno.json's `start` task between `deno run` and `main.ts` (V8 and permission
 * flags), read as the benchmark reads them: `["run", ...START_FLAGS, "main.ts"]` runs the exporter
 * exactly as `deno task start` and the Docker image do.
 */
export const START_FLAGS: readonly string[] = startTaskFlags();

export { freePort };

/** A running exporter process with its stderr collected. */
export class ExporterProcess {
  readonly url: string;
  readonly pid: number;
  #child: Deno.ChildProcess;
  #stderr: Promise<string>;
  #stdout: Promise<string>;

  private constructor(child: Deno.ChildProcess, port: number) {
    this.#child = child;
    this.pid = child.pid;
    this.url = `http://127.0.0.1:${port}`;
    this.#stderr = new Response(child.stderr).text();
    this.#stdout = new Response(child.stdout).text();
  }

  /**
   * Starts `deno <args>` in the repository with `env` plus `PORT`, and waits until `/healthz`
   * answers (up to 20 s).
   */
  static async start(
    args: string[],
    options: { env: Record<string, string>; port?: number },
  ): Promise<ExporterProcess> {
    const port = options.port ?? freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: new URL("../..", import.meta.url).pathname,
      env: { PORT: String(port), LISTEN_HOST: "127.0.0.1", ...options.env },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const process = new ExporterProcess(child, port);
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const response = await fetch(`${process.url}/healthz`);
        await response.body?.cancel();
        if (response.ok) return process;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        await child.status;
        throw new Error(`The exporter did not start: ${await process.#stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Sends a signal; a no-op once the process has exited (its output stays readable). */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
    }
  }

  /**
   * Waits for the exit; returns the code and everything written to stderr and stdout. A process
   * still running after `options.timeoutMs` (default 60 s) is killed, and that is an error.
   */
  async exit(
    options: { timeoutMs?: number } = {},
  ): Promise<{ code: number; stderr: string; stdout: string }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), options.timeoutMs ?? 60_000);
    });
    const status = await Promise.race([this.#child.status, late]);
    clearTimeout(timer);
    if (status === "late") {
      this.kill("SIGKILL");
      await this.#child.status;
      throw new Error(
        `The exporter did not exit within ${options.timeoutMs ?? 60_000} ms: ${await this.#stderr}`,
      );
    }
    return { code: status.code, stderr: await this.#stderr, stdout: await this.#stdout };
  }

  /** A line of /proc/PID/status as a number of bytes (`VmRSS`, `VmHWM`). */
  async memory(field: "VmRSS" | "VmHWM"): Promise<number> {
    const status = await Deno.readTextFile(`/proc/${this.pid}/status`);
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match) throw new Error(`Cannot read ${field} of process ${this.pid}`);
    return Number(match[1]) * 1024;
  }
}
