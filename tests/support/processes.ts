/**
 * Test helper: what the helpers that start servers of their own (a real Ollama, the OTLP receiver,
 * Prometheus, the exporter as a process) share: a free port, whether a process still runs,
 * stopping one that is not our child, and a variable read without `--allow-env`.
 *
 * @module
 */

/** A free TCP port on 127.0.0.1 (closed again, so a child process can take it). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** Whether process `pid` runs (a zombie counts as exited). */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // `pid (comm) S ...`: the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    // No /proc (not Linux): ask the kernel with kill -0.
    return new Deno.Command("kill", { args: ["-0", String(pid)], stdout: "null", stderr: "null" })
      .outputSync().success;
  }
}

/**
 * Stops process `pid` (SIGTERM, SIGKILL after 10 s) and waits until it is gone; throws when it
 * survives SIGKILL for 5 s. `what` names it in that error.
 */
export async function stopProcess(pid: number, what: string): Promise<void> {
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
      const killed = Date.now() + 5_000;
      while (processAlive(pid)) {
        if (Date.now() > killed) {
          throw new Error(`Cannot stop ${what}: pid ${pid} survived SIGKILL for 5 s`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Environment variable `name`, trimmed; `""` when unset, empty or not readable (no --allow-env). */
export function optionalEnv(name: string): string {
  try {
    return Deno.env.get(name)?.trim() ?? "";
  } catch {
    return ""; // No --allow-env: as if unset.
  }
}
