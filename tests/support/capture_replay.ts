/**
 * Test helper: replays the raw captures of the real Ollama (`../shared/real-ollama/samples/`,
 * recorded with `curl -sN -i`) as an upstream on 127.0.0.1, so the exporter can be driven with the
 * exact bytes a real server sent, cut into HTTP chunks in any way: one per line or event (as Ollama
 * flushes), one per byte, or at seeded random points.
 *
 * @module
 */

/** One recorded exchange. */
export interface Capture {
  /** The file name, e.g. `74_v1_messages_thinking_stream.txt`. */
  readonly name: string;
  /** The request's method. */
  readonly method: string;
  /** The request's path (with its query, if any). */
  readonly path: string;
  /** The request body as sent (empty when there was none). */
  readonly requestBody: string;
  /** The response status. */
  readonly status: number;
  /** The response headers other than framing (`Content-Length`, `Transfer-Encoding`). */
  readonly headers: readonly (readonly [string, string])[];
  /** The response body, de-chunked. */
  readonly body: Uint8Array;
  /** Whether Ollama sent the body chunked (a stream) rather than with a length. */
  readonly chunked: boolean;
}

/** How the replayed body is cut into HTTP chunks. */
export type ReplaySplit = "events" | "bytes" | "random";

/** The folder of the captures, beside the project. */
export const SAMPLES_DIR: URL = new URL("../../../shared/real-ollama/samples/", import.meta.url);

/** Why the captures cannot be read (one line), or `null` when {@linkcode SAMPLES_DIR} is there. */
export const SAMPLES_ABSENT: string | null = (() => {
  try {
    Deno.statSync(SAMPLES_DIR);
    return null;
  } catch {
    return `the captures of the real Ollama are not at ${SAMPLES_DIR.pathname}`;
  }
})();

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLF2 = encoder.encode("\r\n\r\n");
const TRAILER = encoder.encode("\n<<< curl wall time");

/** Reads one capture file. */
export function readCapture(name: string): Capture {
  const bytes = Deno.readFileSync(new URL(name, SAMPLES_DIR));
  const headEnd = indexOf(bytes, CRLF2, 0);
  if (headEnd === -1) throw new Error(`Cannot read the capture ${name}: no end of head`);
  const preamble = decoder.decode(bytes.subarray(0, headEnd));
  const httpAt = preamble.indexOf("HTTP/1.1 ");
  const requestLines = preamble.slice(0, httpAt).split("\n").filter((line) =>
    line.startsWith(">>> ")
  );
  const [method, path] = requestLines[0]!.slice(4).split(" ");
  const requestBody = requestLines.slice(1).map((line) => line.slice(4)).join("\n");
  const headLines = preamble.slice(httpAt).split("\r\n");
  const status = Number(headLines[0]!.split(" ")[1]);
  const headers: [string, string][] = [];
  let length: number | undefined;
  let chunked = false;
  for (const line of headLines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === "content-length") length = Number(value);
    else if (lower === "transfer-encoding") chunked = true;
    else headers.push([name, value]);
  }
  const rest = bytes.subarray(headEnd + 4);
  let body: Uint8Array;
  if (length !== undefined) {
    body = rest.slice(0, length);
  } else {
    let end = -1;
    for (let at = indexOf(rest, TRAILER, 0); at !== -1; at = indexOf(rest, TRAILER, at + 1)) {
      end = at;
    }
    body = rest.slice(0, end === -1 ? rest.length : end);
  }
  return { name, method: method!, path: path!, requestBody, status, headers, body, chunked };
}

/** Cuts `body` into the pieces of `split` (`seed` drives `random`). */
export function splitBody(body: Uint8Array, split: ReplaySplit, seed = 1): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  if (split === "bytes") {
    for (let i = 0; i < body.length; i++) pieces.push(body.subarray(i, i + 1));
    return pieces;
  }
  if (split === "random") {
    let state = seed >>> 0 || 1;
    for (let at = 0; at < body.length;) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const size = 1 + (state >>> 16) % 40;
      pieces.push(body.subarray(at, at + size));
      at += size;
    }
    return pieces;
  }
  // One piece per NDJSON line or SSE event (a blank line ends an event), as Ollama flushes.
  const sse = indexOf(body, encoder.encode("\n\n"), 0) !== -1;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== 0x0a || (sse && body[i - 1] !== 0x0a)) continue;
    pieces.push(body.subarray(start, i + 1));
    start = i + 1;
  }
  if (start < body.length) pieces.push(body.subarray(start));
  return pieces;
}

/** A server on 127.0.0.1 that answers every request with one capture. */
export class CaptureReplay {
  #listener: Deno.Listener;
  #capture: Capture;
  #split: ReplaySplit;
  #served: Promise<void>;
  #connections = new Set<Deno.Conn>();
  /** The requests received, in order (the exporter's health checks included). */
  readonly requests: { method: string; path: string; body: Uint8Array }[] = [];

  private constructor(listener: Deno.Listener, capture: Capture, split: ReplaySplit) {
    this.#listener = listener;
    this.#capture = capture;
    this.#split = split;
    this.#served = this.#serve();
  }

  /** Starts a server answering with `capture`, its body cut as `options.split` says. */
  static start(capture: Capture, options: { split: ReplaySplit }): CaptureReplay {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return new CaptureReplay(listener, capture, options.split);
  }

  /** The base URL. */
  get url(): string {
    return `http://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  /** Stops listening and closes open connections. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch {
        // Already closed by its handler.
      }
    }
    await this.#served;
  }

  async #serve(): Promise<void> {
    const handlers: Promise<void>[] = [];
    try {
      for await (const conn of this.#listener) {
        this.#connections.add(conn);
        handlers.push(this.#handle(conn).finally(() => this.#connections.delete(conn)));
      }
    } catch {
      // The listener was closed.
    }
    await Promise.all(handlers);
  }

  async #handle(conn: Deno.Conn): Promise<void> {
    try {
      while (true) {
        const request = await readRequest(conn);
        if (request === null) break;
        this.requests.push(request);
        await this.#answer(conn);
      }
    } catch {
      // The peer went away.
    } finally {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  async #answer(conn: Deno.Conn): Promise<void> {
    const capture = this.#capture;
    const head = [`HTTP/1.1 ${capture.status} X`];
    for (const [name, value] of capture.headers) {
      if (name.toLowerCase() !== "connection") head.push(`${name}: ${value}`);
    }
    if (capture.chunked) head.push("Transfer-Encoding: chunked");
    else head.push(`Content-Length: ${capture.body.length}`);
    await writeAll(conn, encoder.encode(head.join("\r\n") + "\r\n\r\n"));
    const pieces = splitBody(capture.body, this.#split);
    for (const piece of pieces) {
      if (!capture.chunked) {
        await writeAll(conn, piece);
        continue;
      }
      const frame = encoder.encode(`${piece.length.toString(16)}\r\n`);
      await writeAll(conn, concat([frame, piece, encoder.encode("\r\n")]));
    }
    if (capture.chunked) await writeAll(conn, encoder.encode("0\r\n\r\n"));
  }
}

/** Reads one request (head and a Content-Length or chunked body); `null` at end of stream. */
async function readRequest(
  conn: Deno.Conn,
): Promise<{ method: string; path: string; body: Uint8Array } | null> {
  const body = await readBody(conn);
  return body && { method: body.line[0]!, path: body.line[1]!, body: body.body };
}

async function readBody(
  conn: Deno.Conn,
): Promise<{ line: string[]; body: Uint8Array } | null> {
  let buffer: Uint8Array = new Uint8Array(0);
  const more = async (): Promise<boolean> => {
    const chunk = new Uint8Array(65536);
    const n = await conn.read(chunk);
    if (n === null) return false;
    buffer = concat([buffer, chunk.subarray(0, n)]);
    return true;
  };
  let end = indexOf(buffer, CRLF2, 0);
  while (end === -1) {
    if (!await more()) return null;
    end = indexOf(buffer, CRLF2, 0);
  }
  const line = decoder.decode(buffer.subarray(0, buffer.indexOf(0x0d))).split(" ");
  const head = decoder.decode(buffer.subarray(0, end)).toLowerCase();
  let rest = buffer.subarray(end + 4);
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length) {
    const size = Number(length[1]);
    while (rest.length < size) {
      buffer = rest;
      if (!await more()) return null;
      rest = buffer;
    }
    return { line, body: rest.slice(0, size) };
  }
  if (!head.includes("transfer-encoding: chunked")) return { line, body: new Uint8Array(0) };
  // A chunked body: read until the last chunk's empty line.
  const body: Uint8Array[] = [];
  while (true) {
    let eol = indexOf(rest, encoder.encode("\r\n"), 0);
    while (eol === -1) {
      buffer = rest;
      if (!await more()) return null;
      rest = buffer;
      eol = indexOf(rest, encoder.encode("\r\n"), 0);
    }
    const size = parseInt(decoder.decode(rest.subarray(0, eol)), 16);
    while (rest.length < eol + 2 + size + 2) {
      buffer = rest;
      if (!await more()) return null;
      rest = buffer;
    }
    if (size === 0) return { line, body: concat(body) };
    body.push(rest.slice(eol + 2, eol + 2 + size));
    rest = rest.subarray(eol + 2 + size + 2);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

function concat(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

function indexOf(bytes: Uint8Array, pattern: Uint8Array, from: number): number {
  outer: for (let i = from; i <= bytes.length - pattern.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}
