/**
 * Test helper: a REAL Ollama server (v0.24.0 with tiny local models) from `../shared/real-ollama`
 * beside the project, started on a free port of 127.0.0.1 with its own `start.sh`.
 *
 * `OLLAMA_TEST_URL`, when set, names an Ollama to use instead (nothing is started or stopped; it
 * must serve the same models, e.g. another `start.sh`). When neither is available,
 * {@linkcode REAL_OLLAMA_ABSENT} says why, in one line, and the tests that need the server use it
 * as their `ignore` condition.
 *
 * @module
 */

import { freePort, optionalEnv, processAlive, stopProcess } from "./processes.ts";

/** The folder of the real Ollama, beside the project: `<repo>/../shared/real-ollama/`. */
export const REAL_OLLAMA_DIR: URL = new URL("../../../shared/real-ollama/", import.meta.url);

/** `OLLAMA_TEST_URL` without trailing slashes, or `null` when it is unset or empty. */
export const OLLAMA_TEST_URL: string | null = testUrl();

/**
 * Why the real Ollama cannot be used (one line, for the log), or `null` when it can: either
 * `OLLAMA_TEST_URL` is set or the folder holds `start.sh`.
 */
export const REAL_OLLAMA_ABSENT: string | null = absentReason();

/**
 * Why a server of our own cannot be started (one line), or `null` when it can: for tests that
 * need one even when `OLLAMA_TEST_URL` is set (e.g. on 127.0.0.1, or one they may crash).
 */
export const REAL_OLLAMA_START_ABSENT: string | null = hasStartScript() ? null : missingReason();

/** A running real Ollama. */
export interface RealOllama {
  /** Base URL, e.g. `http://127.0.0.1:43125` (no trailing slash). */
  readonly url: string;
  /** The port of `url`. */
  readonly port: number;
  /** The server's process id, or `null` when it is `OLLAMA_TEST_URL`'s (not ours). */
  readonly pid: number | null;
  /** Whether the server process still runs (always `true` for `OLLAMA_TEST_URL`'s). */
  alive(): boolean;
  /** Stops the server (SIGTERM, SIGKILL after 10 s) and waits for it to exit; no-op if not ours. */
  close(): Promise<void>;
}

/**
 * Starts the real Ollama on a free port of 127.0.0.1 and waits until `/api/version` answers, or
 * returns `OLLAMA_TEST_URL`'s when set (unless `options.own` asks for a server of our own).
 * `options.env` adds variables to the server's environment (`start.sh` passes them on:
 * `OLLAMA_NUM_PARALLEL`, `OLLAMA_MAX_QUEUE`, ...); a server started with them is always our own.
 * Throws when {@linkcode REAL_OLLAMA_ABSENT} is set.
 */
export async function startRealOllama(
  options: { own?: boolean; env?: Record<string, string> } = {},
): Promise<RealOllama> {
  if (OLLAMA_TEST_URL !== null && !options.own && options.env === undefined) {
    const url = OLLAMA_TEST_URL;
    await waitForVersion(url, 15_000);
    const parsed = new URL(url);
    const port = Number(parsed.port || (parsed.protocol === "https:" ? 443 : 80));
    return { url, port, pid: null, alive: () => true, close: () => Promise.resolve() };
  }
  if (!hasStartScript()) {
    throw new Error(REAL_OLLAMA_ABSENT ?? `Cannot start the real Ollama: no ${startScript()}`);
  }
  let lastError = "";
  // A port found free can be taken before start.sh binds it; try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freePort();
    const output = await new Deno.Command("bash", {
      args: [startScript(), String(port)],
      ...(options.env ? { env: options.env } : {}),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout).trim();
    const pid = Number(stdout.split("\n").at(-1));
    if (!output.success || !Number.isInteger(pid) || pid <= 0) {
      lastError = `exit code ${output.code}: ${new TextDecoder().decode(output.stderr).trim()}`;
      continue;
    }
    const url = `http://127.0.0.1:${port}`;
    // start.sh names the server's temp dir on stderr; its model runners' command lines hold it.
    const work = /models and log in (.+)$/m.exec(new TextDecoder().decode(output.stderr))?.[1];
    const server: RealOllama = {
      url,
      port,
      pid,
      alive: () => processAlive(pid),
      close: async () => {
        await stopProcess(pid, "the real Ollama");
        // A server that crashed (Ollama v0.24.0 does, on some inputs) leaves its runners behind.
        if (work !== undefined) {
          for (const runner of processesMentioning(`${work}/`)) {
            await stopProcess(runner, "a runner of the real Ollama");
          }
        }
      },
    };
    try {
      await waitForVersion(url, 15_000);
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }
  throw new Error(`Cannot start the real Ollama with ${startScript()}: ${lastError}`);
}

/** Waits until `url`/api/version answers 200, or throws after `timeoutMs`. */
async function waitForVersion(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/api/version`);
      await response.body?.cancel();
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Ollama at ${url} did not answer /api/version within ${timeoutMs} ms: ${last}`);
}

/** Ids of the processes whose command line contains `text` (none where there is no /proc). */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        if (Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).includes(text)) {
          found.push(Number(entry.name));
        }
      } catch {
        // Exited meanwhile, or not ours to read.
      }
    }
  } catch {
    // No /proc.
  }
  return found;
}

function startScript(): string {
  return decodeURIComponent(new URL("start.sh", REAL_OLLAMA_DIR).pathname);
}

function hasStartScript(): boolean {
  try {
    return Deno.statSync(startScript()).isFile;
  } catch {
    return false;
  }
}

function testUrl(): string | null {
  const trimmed = optionalEnv("OLLAMA_TEST_URL").replace(/\/+$/, "");
  return trimmed === "" ? null : trimmed;
}

function absentReason(): string | null {
  if (OLLAMA_TEST_URL !== null || hasStartScript()) return null;
  return missingReason();
}

function missingReason(): string {
  return `real-Ollama tests skipped: no ${startScript()} (put the shared/ folder beside the ` +
    "project, or set OLLAMA_TEST_URL to an Ollama serving the tiny models)";
}
