/**
 * Helpers for the hostile-upstream tests: polling for a state, counting the process's open file
 * descriptors, deadlines that keep a test from hanging on a client that waits forever, and a
 * listener whose connection attempts hang (for connect timeouts).
 *
 * @module
 */

import type { Script, ScriptedRequest } from "./scripted_server.ts";

/** Resolves after `ms` milliseconds. */
export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `condition` every 10 ms until it holds; throws naming `what` when it still does not after
 * `timeoutMs` (default 1000).
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 1000,
): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > end) throw new Error(`Still not ${what} after ${timeoutMs} ms`);
    await delay(10);
  }
}

/** How many file descriptors the process has open (Linux). */
export function openFds(): number {
  let count = 0;
  for (const _entry of Deno.readDirSync("/proc/self/fd")) count++;
  return count;
}

/** The request target of a recorded request (`/r/3`). */
export function targetOf(request: ScriptedRequest): string {
  return request.head.slice(0, request.head.indexOf("\r\n")).split(" ")[1] ?? "";
}

/** The method of a recorded request. */
export function methodOf(request: ScriptedRequest): string {
  return request.head.slice(0, request.head.indexOf(" "));
}

/** The value of header `name` in a recorded request's head, or `null`. */
export function headerOf(request: ScriptedRequest, name: string): string | null {
  for (const line of request.head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) {
      return line.slice(colon + 1).trim();
    }
  }
  return null;
}

/**
 * A deadline for code that may wait forever on a client without the behaviour under test: after
 * `ms` its signal aborts and `onExpire` runs (cancel a body, close a connection). Dispose it to
 * clear the timer (the op sanitizer checks that none is left).
 */
export class Deadline implements Disposable {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  #expired = false;

  constructor(ms: number, onExpire: () => void = () => {}) {
    this.#timer = setTimeout(() => {
      this.#expired = true;
      this.#controller.abort(new Error(`the test's deadline of ${ms} ms passed`));
      onExpire();
    }, ms);
  }

  /** Aborts when the deadline passes. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the deadline passed. */
  get expired(): boolean {
    return this.#expired;
  }

  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
  }
}

/** A listener on 127.0.0.1 whose connection attempts hang: its accept queue is full. */
export interface StuckListener {
  readonly port: number;
  /** Stops the listener (again is a no-op): a hanging attempt then fails at its next SYN. */
  close(): Promise<void>;
}

const LISTEN_ZERO = `
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

/**
 * Starts a python3 listener with `listen(0)` that never accepts, and fills its accept queue with
 * connections until one attempt hangs (Linux then drops further SYNs). Returns `null` when python3
 * is missing or no attempt hangs here (then a connect timeout cannot be provoked on loopback).
 */
export async function stuckListener(): Promise<StuckListener | null> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("python3", {
      args: ["-c", LISTEN_ZERO],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch {
    return null;
  }
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const fillers: Deno.Conn[] = [];
  let closing: Promise<void> | undefined;
  const close = () => closing ??= stop();
  const stop = async () => {
    for (const conn of fillers) conn.close();
    await child.stdin.close().catch(() => {});
    await child.stdout.cancel().catch(() => {});
    try {
      child.kill();
    } catch {
      // Already ended.
    }
    await child.status;
  };
  const port = Number(text.trim());
  if (!Number.isInteger(port) || port <= 0) {
    await close();
    return null;
  }
  for (let attempt = 0; attempt < 4; attempt++) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 200);
    try {
      fillers.push(await Deno.connect({ hostname: "127.0.0.1", port, signal: abort.signal }));
    } catch {
      // This attempt hung: the queue is full.
      clearTimeout(timer);
      return { port, close };
    }
    clearTimeout(timer);
  }
  await close();
  return null;
}

/** The body of the early answer {@linkcode answersEarly} gives. */
export const EARLY = '{"error":"request entity too large"}';

/** Reads the request head only, answers 413 at once and closes 50 ms later, body unread. */
export const answersEarly: Script = async (_request, conn) => {
  await conn.write(
    `HTTP/1.1 413 Request Entity Too Large\r\ncontent-type: application/json\r\n` +
      `content-length: ${EARLY.length}\r\n\r\n${EARLY}`,
  );
  await delay(50);
};
