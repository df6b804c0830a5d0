/**
 * Server processes for the benchmarks: started with an optional CPU set (`taskset`), open-file
 * limit (`ulimit -n`) and parent-death signal (`setpriv --pdeathsig`, so nothing outlives a
 * harness that is killed), watched until they listen, measured through `/proc` (resident memory,
 * open descriptors, CPU time), and stopped.
 *
 * @module
 */

/** How to start one server. */
export interface LaunchOptions {
  /** A short name for messages (`exporter`, `upstream`, ...). */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  /** Start with `env` only instead of adding it to this process's environment. */
  readonly clearEnv?: boolean;
  readonly cwd?: string;
  /** CPUs to pin the process to, in `taskset -c` syntax (`"1"`, `"0,1"`). */
  readonly cpus?: string;
  /** Raises the open-file limit to this (or to the hard limit, when that is lower). */
  readonly nofile?: number;
  /** Keep standard input open as a pipe (servers that exit when it closes). */
  readonly stdinPipe?: boolean;
}

/** Memory of a process, in KiB, from `/proc/PID/status`. */
export interface MemoryKiB {
  /** Resident set size now (`VmRSS`). */
  readonly rss: number;
  /** Peak resident set size since start (`VmHWM`). */
  readonly hwm: number;
}

const LOG_LINES = 60;
const decoder = new TextDecoder();

/** Whether `command` is on PATH. */
export function onPath(command: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const info = Deno.statSync(`${dir}/${command}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

let clockTicks: number | undefined;

/** Clock ticks per second of `/proc/PID/stat` times (`getconf CLK_TCK`, 100 if unknown). */
export async function clockTicksPerSecond(): Promise<number> {
  if (clockTicks !== undefined) return clockTicks;
  try {
    const output = await new Deno.Command("getconf", { args: ["CLK_TCK"], stderr: "null" })
      .output();
    const value = Number(decoder.decode(output.stdout).trim());
    clockTicks = Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

/** A port nobody listens on now (the kernel's pick; another process could take it later). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Reads `VmRSS` and `VmHWM` of `pid`. */
export function memoryOf(pid: number): MemoryKiB {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
    if (!match) {
      throw new Error(`Cannot read ${name} of process ${pid}: not in /proc/${pid}/status`);
    }
    return Number(match[1]);
  };
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

/** Counts the open file descriptors of `pid`. */
export function fdCountOf(pid: number): number {
  let count = 0;
  for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  return count;
}

/** The direct children of `pid` (from `/proc/PID/task/*\/children`). */
export function childrenOf(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
      if (text) children.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone, or no children file on this kernel
  }
  return children;
}

/** CPU time (user + system) of `pid` in clock ticks. */
export function cpuTicksOf(pid: number): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name may contain spaces and parentheses: fields are counted after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** The soft open-file limit of `pid`. */
export function nofileLimitOf(pid: number): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/limits`);
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (!match) throw new Error(`Cannot read the open-file limit of process ${pid}`);
  return match[1] === "unlimited" ? Infinity : Number(match[1]);
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One running server. */
export class ServerProcess {
  /** The name given at launch. */
  readonly name: string;
  /** The process id (the server itself: the wrappers `exec` into it). */
  readonly pid: number;
  #child: Deno.ChildProcess;
  #log: string[] = [];
  #exit: Deno.CommandStatus | undefined;
  #exited: Promise<Deno.CommandStatus>;
  #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;

  private constructor(name: string, child: Deno.ChildProcess, stdinPipe: boolean) {
    this.name = name;
    this.#child = child;
    this.pid = child.pid;
    this.#exited = child.status.then((status) => this.#exit = status);
    this.#drain(child.stdout);
    this.#drain(child.stderr);
    if (stdinPipe) this.#stdin = child.stdin.getWriter();
  }

  /** Starts a server; see {@linkcode LaunchOptions}. */
  static launch(options: LaunchOptions): ServerProcess {
    let argv = [options.command, ...options.args];
    if (options.cpus !== undefined && onPath("taskset")) {
      argv = ["taskset", "-c", options.cpus, ...argv];
    }
    if (onPath("setpriv")) argv = ["setpriv", "--pdeathsig", "SIGKILL", "--", ...argv];
    if (options.nofile !== undefined) {
      argv = [
        "sh",
        "-c",
        `ulimit -n ${options.nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`,
        "sh",
        ...argv,
      ];
    }
    const [command, ...args] = argv as [string, ...string[]];
    const child = new Deno.Command(command, {
      args,
      ...(options.env ? { env: options.env } : {}),
      ...(options.clearEnv ? { clearEnv: true } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdin: options.stdinPipe ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return new ServerProcess(options.name, child, options.stdinPipe ?? false);
  }

  /** Whether the process has ended. */
  get exited(): boolean {
    return this.#exit !== undefined;
  }

  /** The last lines it wrote to stdout and stderr. */
  logTail(lines = 20): string {
    return this.#log.slice(-lines).join("\n");
  }

  /**
   * Waits until `check` resolves `true` (polled every 50 ms), failing when the process ends or
   * `timeoutMs` passes.
   */
  async waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (this.#exit) {
        throw new Error(
          `${this.name} exited (code ${this.#exit.code}) before ${what}:\n${this.logTail()}`,
        );
      }
      if (await check()) return;
      await delay(50);
    }
    throw new Error(
      `${this.name} did not get to ${what} within ${timeoutMs} ms:\n${this.logTail()}`,
    );
  }

  /** Waits until a TCP connection to `port` on 127.0.0.1 succeeds. */
  waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
    return this.waitUntil(`listening on port ${port}`, async () => {
      try {
        const connection = await Deno.connect({ hostname: "127.0.0.1", port });
        connection.close();
        return true;
      } catch {
        return false;
      }
    }, timeoutMs);
  }

  /** Waits until `GET url` answers 200. */
  waitForOk(url: string, timeoutMs = 15_000): Promise<void> {
    return this.waitUntil(`answering 200 at ${url}`, async () => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await response.body?.cancel();
        return response.ok;
      } catch {
        return false;
      }
    }, timeoutMs);
  }

  /**
   * `VmRSS` and `VmHWM` now; with `children`, summed with those of its direct children (nginx's
   * workers).
   */
  memory(options: { children?: boolean } = {}): MemoryKiB {
    const own = memoryOf(this.pid);
    if (!options.children) return own;
    let { rss, hwm } = own;
    for (const child of childrenOf(this.pid)) {
      try {
        const memory = memoryOf(child);
        rss += memory.rss;
        hwm += memory.hwm;
      } catch {
        // ended meanwhile
      }
    }
    return { rss, hwm };
  }

  /** Open file descriptors now; with `children`, those of its direct children too. */
  fdCount(options: { children?: boolean } = {}): number {
    let count = fdCountOf(this.pid);
    if (options.children) {
      for (const child of childrenOf(this.pid)) {
        try {
          count += fdCountOf(child);
        } catch {
          // ended meanwhile
        }
      }
    }
    return count;
  }

  /** CPU seconds used so far by the process and, with `children`, by its direct children. */
  async cpuSeconds(options: { children?: boolean } = {}): Promise<number> {
    let ticks = cpuTicksOf(this.pid);
    if (options.children) {
      for (const child of childrenOf(this.pid)) {
        try {
          ticks += cpuTicksOf(child);
        } catch {
          // ended meanwhile
        }
      }
    }
    return ticks / await clockTicksPerSecond();
  }

  /** The open-file limit it runs with. */
  nofileLimit(): number {
    return nofileLimitOf(this.pid);
  }

  /** Sends SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs = 3000): Promise<void> {
    try {
      await this.#stdin?.close();
    } catch {
      // already closed
    }
    if (this.#exit) return;
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already gone
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const outcome = await Promise.race([this.#exited, timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await this.#exited;
    }
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    try {
      for await (const chunk of stream) {
        const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) this.#remember(line);
        if (rest.length > 4096) {
          this.#remember(rest);
          rest = "";
        }
      }
    } catch {
      // the pipe broke with the process
    }
    if (rest) this.#remember(rest);
  }

  #remember(line: string): void {
    this.#log.push(line.length > 500 ? line.slice(0, 500) + "…" : line);
    if (this.#log.length > LOG_LINES) this.#log.splice(0, this.#log.length - LOG_LINES);
  }
}
