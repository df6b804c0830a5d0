/**
 * A benchmark client for line-oriented streams (NDJSON, SSE): sends one request and reads the
 * answer line by line, noting when each line arrived (wall clock, comparable across processes on
 * one machine).
 *
 * @module
 */

/** What one streamed request gave. */
export interface StreamOutcome {
  readonly status: number;
  /** Non-empty lines read. */
  readonly lines: number;
  readonly bytes: number;
  /** Whether a line carried `"done":true` (native) or was `data: [DONE]` (SSE). */
  readonly sawEnd: boolean;
  /** Whether the client stopped reading early (`stopAfterLines`). */
  readonly stoppedEarly: boolean;
}

/** One streamed request. */
export interface StreamRequest {
  readonly url: string;
  readonly body: string;
  readonly headers?: Record<string, string>;
  /** Called with each non-empty line and its arrival time (ms since the epoch, fractional). */
  readonly onLine?: (line: string, arrivedMs: number) => void;
  /** Called once the response headers are in. */
  readonly onHeaders?: (status: number) => void;
  /** Cancels the body after this many lines (a client that disconnects mid-stream). */
  readonly stopAfterLines?: number;
  /** Bounds the whole request. */
  readonly timeoutMs: number;
}

/** Wall-clock time in fractional milliseconds since the epoch. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

const decoder = new TextDecoder();

/** Sends `request` and reads its answer to the end (or to `stopAfterLines`). */
export async function readStream(request: StreamRequest): Promise<StreamOutcome> {
  const response = await fetch(request.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...request.headers },
    body: request.body,
    signal: AbortSignal.timeout(request.timeoutMs),
  });
  request.onHeaders?.(response.status);
  let lines = 0;
  let bytes = 0;
  let sawEnd = false;
  let rest = "";
  const reader = response.body?.getReader();
  if (!reader) return { status: response.status, lines, bytes, sawEnd, stoppedEarly: false };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const arrived = wallClockMs();
      bytes += value.length;
      const parts = (rest + decoder.decode(value, { stream: true })).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        if (line === "") continue;
        lines++;
        if (line.includes('"done":true') || line === "data: [DONE]") sawEnd = true;
        request.onLine?.(line, arrived);
      }
      if (request.stopAfterLines !== undefined && lines >= request.stopAfterLines) {
        await reader.cancel();
        return { status: response.status, lines, bytes, sawEnd, stoppedEarly: true };
      }
    }
  } finally {
    reader.releaseLock();
  }
  if (rest !== "") {
    lines++;
    if (rest.includes('"done":true')) sawEnd = true;
    request.onLine?.(rest, wallClockMs());
  }
  return { status: response.status, lines, bytes, sawEnd, stoppedEarly: false };
}
