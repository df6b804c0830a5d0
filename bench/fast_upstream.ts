/**
 * A fast stand-in for Ollama, for benchmarks: precomputed bodies in Ollama's exact wire format,
 * so that what is measured is the proxy in front of it. Request headers steer it:
 *
 * - `x-bench-interval-ms: N` paces a stream: the response headers and each chunk go out N ms
 *   apart (headers with the first chunk, as Ollama sends them), and each native chunk's
 *   `created_at` is the moment it was written (wall clock, microseconds), so a client on the same
 *   machine can measure each chunk's delay.
 * - `x-bench-chunks: N` sends N intermediate chunks instead of 20.
 * - `x-bench-status: S` answers status S with Ollama's error body.
 * - `x-bench-error-after: N` ends a 200 stream after N chunks with an `{"error":...}` line.
 * - `x-bench-drop-after: N` aborts the connection after N chunks (no final chunk, no terminator).
 * - `x-bench-embed-bytes: N` sizes the `/api/embed` answer (default 60 MB), written in 64 KiB
 *   pieces.
 *
 * Run: `deno run --allow-net bench/fast_upstream.ts --port 11434` (`--watch-stdin` exits when
 * standard input closes, so a harness that dies takes it along).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { serveFromCli } from "./serve_cli.ts";
import { abortableSleep } from "../tests/support/simulator/abortable_sleep.ts";

/** A signal that never fires, for waits nothing cancels. */
const NEVER = new AbortController().signal;
import {
  BENCH_MODEL,
  chatChunk,
  chatFinalChunk,
  chatStreamChunks,
  embedBody,
  errorBody,
  generateBody,
  generateChunk,
  generateFinal,
  generateStreamChunks,
  goTime,
  openAiBody,
  openAiStreamChunks,
  tagsBody,
  TOKENS,
  versionBody,
} from "./ollama_bodies.ts";

/** Content types exactly as Ollama sends them. */
export const CONTENT_TYPES = {
  json: "application/json; charset=utf-8",
  ndjson: "application/x-ndjson",
  sse: "text/event-stream",
  text: "text/plain; charset=utf-8",
} as const;

/** Default size of the `/api/embed` answer. */
export const DEFAULT_EMBED_BYTES = 60_000_000;

const EMBED_PIECE_BYTES = 64 * 1024;
const encoder = new TextEncoder();

/** How one streamed answer is shaped, from the request headers. */
interface StreamShape {
  intervalMs: number;
  chunks: number;
  errorAfter: number;
  dropAfter: number;
}

type StreamKind = "chat" | "generate" | "openai";

function headerNumber(request: Request, name: string, fallback: number): number {
  const text = request.headers.get(name);
  if (text === null) return fallback;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

function shapeOf(request: Request): StreamShape {
  return {
    intervalMs: headerNumber(request, "x-bench-interval-ms", 0),
    chunks: headerNumber(request, "x-bench-chunks", TOKENS.length),
    errorAfter: headerNumber(request, "x-bench-error-after", -1),
    dropAfter: headerNumber(request, "x-bench-drop-after", -1),
  };
}

function isPlain(shape: StreamShape): boolean {
  return shape.intervalMs === 0 && shape.chunks === TOKENS.length && shape.errorAfter < 0 &&
    shape.dropAfter < 0;
}

/** A body stream that hands out `chunks` one read at a time. */
function chunkStream(chunks: readonly Uint8Array<ArrayBuffer>[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[next++];
      if (chunk) controller.enqueue(chunk);
      if (next >= chunks.length) controller.close();
    },
  }, { highWaterMark: 0 });
}

function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The frames of a stream that is paced, shortened, broken or dropped, built as they go out. */
function shapedStream(
  kind: StreamKind,
  shape: StreamShape,
  includeUsage: boolean,
): ReadableStream<Uint8Array> {
  // Not the request's signal: Deno fires that once the response is handed over.
  const cancelled = new AbortController();
  const signal = cancelled.signal;
  let index = 0;
  let finished = false;
  const stamp = () => shape.intervalMs > 0 ? goTime(wallClockMs()) : undefined;
  const openAiFrames = kind === "openai" ? openAiStreamChunks({ includeUsage }) : [];
  const intermediate = (i: number): Uint8Array<ArrayBuffer> => {
    const token = TOKENS[i % TOKENS.length] ?? "";
    if (kind === "chat") return encoder.encode(chatChunk(token, stamp()));
    if (kind === "generate") return encoder.encode(generateChunk(token, stamp()));
    return openAiFrames[i % TOKENS.length] ?? new Uint8Array();
  };
  const finalFrames = (): Uint8Array<ArrayBuffer>[] => {
    if (kind === "chat") return [encoder.encode(chatFinalChunk(stamp()))];
    if (kind === "generate") return [encoder.encode(generateFinal("", { newline: true }))];
    return openAiFrames.slice(TOKENS.length);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (finished) return;
      if (index > 0 && shape.intervalMs > 0 && !(await abortableSleep(shape.intervalMs, signal))) {
        return;
      }
      if (index === shape.dropAfter) {
        finished = true;
        controller.error(new Error(`bench upstream: dropped after ${index} chunks as asked`));
        return;
      }
      if (index === shape.errorAfter) {
        finished = true;
        const line = kind === "openai"
          ? `data: ${
            JSON.stringify({
              error: {
                message: "model runner crashed",
                type: "api_error",
                param: null,
                code: null,
              },
            })
          }\n\n`
          : `${JSON.stringify({ error: "an error was encountered while running the model" })}\n`;
        controller.enqueue(encoder.encode(line));
        controller.close();
        return;
      }
      if (index < shape.chunks) {
        controller.enqueue(intermediate(index));
        index++;
        return;
      }
      finished = true;
      for (const frame of finalFrames()) controller.enqueue(frame);
      controller.close();
    },
    cancel() {
      cancelled.abort();
    },
  }, { highWaterMark: 0 });
}

function respond(body: BodyInit | null, status: number, contentType: string): Response {
  return new Response(body, { status, headers: { "content-type": contentType } });
}

async function readJson(request: Request): Promise<Record<string, unknown> | null> {
  try {
    const value = JSON.parse(await request.text());
    return typeof value === "object" && value !== null ? value as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

/**
 * Creates the request handler. Bodies are built once here; an `/api/embed` body once per size
 * asked for (the last one is kept).
 */
export function fastUpstreamHandler(): (request: Request) => Promise<Response> {
  const bodies = {
    generate: generateBody(),
    generateStream: generateStreamChunks(),
    chatStream: chatStreamChunks(),
    openai: openAiBody(),
    openaiStream: openAiStreamChunks({ includeUsage: false }),
    openaiStreamUsage: openAiStreamChunks({ includeUsage: true }),
    tags: tagsBody(),
    version: versionBody(),
  };
  let embed: { bytes: number; body: Uint8Array<ArrayBuffer> } | undefined;

  const generation = async (request: Request, kind: StreamKind): Promise<Response> => {
    const json = await readJson(request);
    if (json === null) {
      return kind === "openai"
        ? respond(
          JSON.stringify({
            error: {
              message: "invalid request body",
              type: "invalid_request_error",
              param: null,
              code: null,
            },
          }),
          400,
          CONTENT_TYPES.json,
        )
        : respond(errorBody("invalid request body"), 400, CONTENT_TYPES.json);
    }
    const status = headerNumber(request, "x-bench-status", 200);
    if (status >= 400) {
      const message = status === 404
        ? `model '${String(json.model ?? BENCH_MODEL)}' not found`
        : "an error was encountered while running the model";
      return kind === "openai"
        ? respond(
          JSON.stringify({
            error: {
              message,
              type: status === 404 ? "not_found_error" : "api_error",
              param: null,
              code: null,
            },
          }),
          status,
          CONTENT_TYPES.json,
        )
        : respond(errorBody(message), status, CONTENT_TYPES.json);
    }
    const streaming = kind === "openai" ? json.stream === true : json.stream !== false;
    if (!streaming) {
      const body = kind === "openai" ? bodies.openai : bodies.generate;
      return respond(body, 200, CONTENT_TYPES.json);
    }
    const options = json.stream_options as { include_usage?: unknown } | undefined;
    const includeUsage = kind === "openai" && options?.include_usage === true;
    const shape = shapeOf(request);
    const contentType = kind === "openai" ? CONTENT_TYPES.sse : CONTENT_TYPES.ndjson;
    if (isPlain(shape)) {
      const chunks = kind === "chat"
        ? bodies.chatStream
        : kind === "generate"
        ? bodies.generateStream
        : includeUsage
        ? bodies.openaiStreamUsage
        : bodies.openaiStream;
      return respond(chunkStream(chunks), 200, contentType);
    }
    // Ollama sends the headers with the first token.
    if (shape.intervalMs > 0) await abortableSleep(shape.intervalMs, NEVER);
    return respond(shapedStream(kind, shape, includeUsage), 200, contentType);
  };

  return async (request) => {
    const path = new URL(request.url).pathname;
    const method = request.method;
    if (method === "POST") {
      if (path === "/api/chat") return await generation(request, "chat");
      if (path === "/api/generate") return await generation(request, "generate");
      if (path === "/v1/chat/completions") return await generation(request, "openai");
      if (path === "/api/embed") {
        await request.arrayBuffer();
        const status = headerNumber(request, "x-bench-status", 200);
        if (status >= 400) {
          return respond(errorBody("embedding failed"), status, CONTENT_TYPES.json);
        }
        const bytes = headerNumber(request, "x-bench-embed-bytes", DEFAULT_EMBED_BYTES);
        if (embed?.bytes !== bytes) embed = { bytes, body: embedBody(bytes) };
        const body = embed.body;
        const pieces: Uint8Array<ArrayBuffer>[] = [];
        for (let offset = 0; offset < body.length; offset += EMBED_PIECE_BYTES) {
          pieces.push(body.subarray(offset, offset + EMBED_PIECE_BYTES));
        }
        return respond(chunkStream(pieces), 200, CONTENT_TYPES.json);
      }
    } else if (method === "GET" || method === "HEAD") {
      const head = method === "HEAD";
      if (path === "/api/tags") return respond(head ? null : bodies.tags, 200, CONTENT_TYPES.json);
      if (path === "/api/version") {
        return respond(head ? null : bodies.version, 200, CONTENT_TYPES.json);
      }
      if (path === "/") return respond(head ? null : "Ollama is running", 200, CONTENT_TYPES.text);
    }
    await request.arrayBuffer();
    return respond("404 page not found", 404, CONTENT_TYPES.text);
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "11434" },
      hostname: { type: "string", default: "127.0.0.1" },
      "watch-stdin": { type: "boolean", default: false },
    },
  });
  serveFromCli("fast_upstream", fastUpstreamHandler(), {
    port: values.port,
    hostname: values.hostname,
    watchStdin: values["watch-stdin"],
  });
}
