/**
 * Test helper: a REAL Ollama of our own, started with `../shared/real-ollama/start.sh` as
 * `startRealOllama` (`real_ollama.ts`) starts it, but with extra environment variables, which
 * `start.sh` passes on to the server: `OLLAMA_NUM_PARALLEL`, `OLLAMA_MAX_QUEUE`,
 * `OLLAMA_KEEP_ALIVE`, ... Always a server of our own on a free port of 127.0.0.1, even when
 * `OLLAMA_TEST_URL` names another: the settings under test are the server's own.
 *
 * When the folder is absent, `REAL_OLLAMA_START_ABSENT` (from `real_ollama.ts`) says why, in one
 * line, for the tests' `ignore` condition.
 *
 * @module
 */

import { REAL_OLLAMA_DIR, REAL_OLLAMA_START_ABSENT, type RealOllama } from "./real_ollama.ts";

export { REAL_OLLAMA_START_ABSENT };
export type { RealOllama };

/**
 * Starts the real Ollama with `env` added to its environment (the rest is inherited), on a free
 * port of 127.0.0.1, and waits until `/api/version` answers. `close()` stops the server and any
 * model runner it left behind.
 */
export async function startRealOllamaWith(env: Record<string, string>): Promise<RealOllama> {
  if (REAL_OLLAMA_START_ABSENT !== null) throw new Error(REAL_OLLAMA_START_ABSENT);
  const script = decodeURIComponent(new URL("start.sh", REAL_OLLAMA_DIR).pathname);
  let lastError = "";
  // A port found free can be taken before start.sh binds it; try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = freePort();
    const output = await new Deno.Command("bash", {
      args: [script, String(port)],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    const pid = Number(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1));
    if (!output.success || !Number.isInteger(pid) || pid <= 0) {
      lastError = `exit code ${output.code}: ${stderr.trim()}`;
      continue;
    }
    // start.sh names the server's temp dir on stderr; its model runners' command lines hold it.
    const work = /models and log in (.+)$/m.exec(stderr)?.[1];
    const url = `http://127.0.0.1:${port}`;
    const server: RealOllama = {
      url,
      port,
      pid,
      alive: () => processAlive(pid),
      close: async () => {
        await stopProcess(pid);
        if (work !== undefined) {
          for (const runner of processesMentioning(`${work}/`)) await stopProcess(runner);
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
  throw new Error(`Cannot start the real Ollama with ${script}: ${lastError}`);
}

/**
 * Runs `body` with a real Ollama of our own started with `env`, and stops it afterwards, whatever
 * happens.
 */
export async function withRealOllama(
  env: Record<string, string>,
  body: (ollama: RealOllama) => Promise<void>,
): Promise<void> {
  const ollama = await startRealOllamaWith(env);
  try {
    await body(ollama);
  } finally {
    await ollama.close();
  }
}

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

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether process `pid` runs (a zombie counts as exited). */
function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    return new Deno.Command("kill", { args: ["-0", String(pid)], stdout: "null", stderr: "null" })
      .outputSync().success;
  }
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

/** SIGTERM, then SIGKILL after 10 s; waits for the process to exit. */
async function stopProcess(pid: number): Promise<void> {
  const signal = (name: Deno.Signal): void => {
    try {
      Deno.kill(pid, name);
    } catch {
      // Already gone.
    }
  };
  if (!processAlive(pid)) return;
  signal("SIGTERM");
  const deadline = Date.now() + 10_000;
  while (processAlive(pid)) {
    if (Date.now() > deadline) {
      signal("SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 200));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
