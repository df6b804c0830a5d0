/**
 * A faithful stand-in for an Ollama server, for tests of the exporter: Ollama's routes and wire
 * formats (native NDJSON, OpenAI-compatible SSE in both stream shapes, OpenAI Responses and
 * Anthropic Messages SSE with `event:` lines), thinking models and a scripted tool caller,
 * deterministic answers whose token counts and durations tests can compute in advance
 * (`expectedCompletion`, `expectedReply`), Ollama's scheduler (parallel slots per model, its
 * queue and 503 when it is full, reloads for another `num_ctx`, prompts truncated to the loaded
 * context), and knobs for delays, split writes, mid-stream failures and pauses and foreign Host
 * headers. It records every request and notices clients that go away.
 *
 * Run standalone: `deno run --allow-net tests/support/ollama_simulator.ts --port 11434`.
 *
 * @module
 */

import { abortableSleep } from "./simulator/abortable_sleep.ts";
import { isAllowedHost } from "./simulator/allowed_host.ts";
import { createBodyStream } from "./simulator/body_stream.ts";
import { corsDecision } from "./simulator/cors_policy.ts";
import { emptyReply } from "./simulator/empty_reply.ts";
import {
  type ExpectedCompletion,
  expectedCompletion,
  type ExpectedCompletionOptions,
} from "./simulator/expected_completion.ts";
import {
  type ExpectedReply,
  expectedReply,
  type GenerationPath,
} from "./simulator/expected_reply.ts";
import { openAiStreamFormatOf } from "./simulator/openai_stream_format.ts";
import { type ExpectedEmbedding, expectedEmbedding } from "./simulator/expected_embedding.ts";
import { fixedReply } from "./simulator/fixed_reply.ts";
import { LoadedModels } from "./simulator/loaded_models.ts";
import { ModelCatalog } from "./simulator/model_catalog.ts";
import { ollamaError } from "./simulator/ollama_error.ts";
import type { CountedMessage } from "./simulator/prompt_tokens.ts";
import { RecordedRequest } from "./simulator/recorded_request.ts";
import type { Reply } from "./simulator/reply.ts";
import { matchRoute } from "./simulator/route_table.ts";
import type { RouteContext } from "./simulator/route_types.ts";
import { Scheduler } from "./simulator/scheduler.ts";
import { runSimulatorCli } from "./simulator/simulator_cli.ts";
import {
  type ResolvedOptions,
  resolveOptions,
  type SimulatorOptions,
} from "./simulator/simulator_options.ts";

export { RecordedRequest } from "./simulator/recorded_request.ts";
export {
  type CompletionMetrics,
  DEFAULT_RESPONSE_TOKENS,
  DEFAULT_THINKING_TOKENS,
  type ExpectedCompletion,
  expectedCompletion,
  type ExpectedCompletionOptions,
  type OutputPiece,
} from "./simulator/expected_completion.ts";
export {
  type ExpectedReply,
  expectedReply,
  type ExpectedReplyOptions,
  type GenerationPath,
} from "./simulator/expected_reply.ts";
export { anthropicInputEstimate } from "./simulator/anthropic_estimate.ts";
export {
  type PlannedToolCall,
  plannedToolCall,
  SCRIPTED_TOOL_NAME,
  SCRIPTED_TOOL_TOKENS,
} from "./simulator/planned_tool_call.ts";
export { THINKING_TOKENS, thinkingTokens } from "./simulator/thinking_tokens.ts";
export { type OpenAiStreamFormat, openAiStreamFormatOf } from "./simulator/openai_stream_format.ts";
export {
  type CountedMessage,
  countPromptTokens,
  MESSAGE_TOKENS,
  TEMPLATE_TOKENS,
  TOOL_TOKENS,
} from "./simulator/prompt_tokens.ts";
export {
  EMBED_EXTRA_TOKENS,
  type ExpectedEmbedding,
  expectedEmbedding,
  type ExpectedEmbeddingOptions,
} from "./simulator/expected_embedding.ts";
export { modelDimensions } from "./simulator/model_dimensions.ts";
export { RESPONSE_TOKENS, responseTokens } from "./simulator/response_tokens.ts";
export { THINK_LEVELS } from "./simulator/native_think.ts";
export { DEFAULT_TIMINGS, type Timings } from "./simulator/timings.ts";
export type { LoadedModelSpec } from "./simulator/loaded_models.ts";
export {
  DEFAULT_FAILURE_MESSAGE,
  DEFAULT_MAX_QUEUE,
  DEFAULT_MODELS,
  DEFAULT_REGISTRY,
  DEFAULT_VERSION,
  type MidStreamFailure,
  type MidStreamPause,
  type SimulatorOptions,
  type SplitMode,
} from "./simulator/simulator_options.ts";
export { goJson } from "./simulator/go_json.ts";
export { SERVER_BUSY_MESSAGE } from "./simulator/scheduler.ts";
export { loadedContextLength, MIN_CONTEXT_LENGTH } from "./simulator/model_context.ts";
export { DEFAULT_CONTEXT_LENGTH } from "./simulator/process_model.ts";
export { truncatedPromptTokens } from "./simulator/truncated_prompt_tokens.ts";

const DECODER = new TextDecoder();

/** A simulated Ollama server on 127.0.0.1. Start with {@link OllamaSimulator.start}. */
export class OllamaSimulator {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Every request received, in arrival order (empty in `fast` mode). Clear with `length = 0`. */
  readonly requests: RecordedRequest[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #options: ResolvedOptions;
  #catalog: ModelCatalog;
  #loaded = new LoadedModels();
  #blobs = new Set<string>();
  #closing = new AbortController();
  #scheduler = new Scheduler(this.#loaded, { closing: this.#closing.signal });
  #inFlight = new Set<Promise<void>>();
  #sequence = 0;
  #closed: Promise<void> | undefined;

  private constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#catalog = new ModelCatalog(options.models);
    try {
      this.#server = Deno.serve(
        { hostname: "127.0.0.1", port: options.port, onListen: () => {} },
        (request) => this.#handle(request),
      );
    } catch (error) {
      throw new Error(
        `Cannot start the Ollama simulator on 127.0.0.1:${options.port}: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
    this.port = this.#server.addr.port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** Starts a simulator listening on 127.0.0.1 (a random port unless `port` is given). */
  static start(options: SimulatorOptions = {}): Promise<OllamaSimulator> {
    try {
      return Promise.resolve(new OllamaSimulator(resolveOptions(options)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Number of requests received since start, recorded or not. */
  get requestCount(): number {
    return this.#sequence;
  }

  /** Requests waiting for a parallel slot of their model (option `numParallel`), all models. */
  get waitingRequests(): number {
    return this.#scheduler.waiting;
  }

  /**
   * True while Ollama's scheduler works on a request: loading its model (`loadDelayMs`), or
   * waiting until the model's requests are over to reload it with another `num_ctx`. Requests
   * that need a load meanwhile queue (option `maxQueue`).
   */
  get schedulerBusy(): boolean {
    return this.#scheduler.busy;
  }

  /**
   * Requests in the scheduler's queue (option `maxQueue`) that it has not taken up yet: they
   * need a model loaded (or reloaded with another `num_ctx`) while it is busy.
   */
  get pendingRequests(): number {
    return this.#scheduler.pending;
  }

  /**
   * Changes behaviour for the requests that arrive from now on (a response already under way
   * keeps the options it started with). `models` replaces the installed models; `port` is
   * ignored (it is fixed at start).
   */
  configure(options: Partial<SimulatorOptions>): void {
    this.#options = resolveOptions(options, this.#options);
    if (options.models !== undefined) this.#catalog.replace(options.models);
  }

  /**
   * The exact answer this simulator, as configured now, gives to a generation of `model` for
   * `input` (prompt string or chat messages, as the family converts them); see
   * {@link expectedCompletion}. An installed model's capabilities are the catalog's.
   */
  expectedCompletion(
    model: string,
    input: string | readonly CountedMessage[],
    options: Pick<
      ExpectedCompletionOptions,
      "numPredict" | "numCtx" | "system" | "think" | "tools"
    > = {},
  ): ExpectedCompletion {
    return expectedCompletion(model, input, { ...options, ...this.#modelOptions(model) });
  }

  /**
   * The exact answer this simulator, as configured now, gives to `body` sent to `path`, as the
   * API family reports it (tokens, chunks, tool calls, finish reason); see {@link expectedReply}.
   */
  expectedReply(path: GenerationPath, body: unknown): ExpectedReply {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    let model = "";
    try {
      const value = JSON.parse(text);
      if (typeof value?.model === "string") model = value.model;
    } catch {
      // expectedReply reports the bad body.
    }
    const options = this.#options;
    return expectedReply(path, text, {
      ...this.#modelOptions(model),
      openAiStreamFormat: openAiStreamFormatOf(options.version, options.openAiStreamFormat),
    });
  }

  #modelOptions(model: string) {
    const options = this.#options;
    const record = this.#catalog.find(model);
    return {
      ...(record === undefined ? {} : { trainedContextLength: record.contextLength }),
      responseTokens: options.responseTokens,
      thinkingTokens: options.thinkingTokens,
      stopsNaturally: options.stopsNaturally,
      timings: options.timings,
      lastTokenInFinalChunk: options.lastTokenInFinalChunk,
      ...(record === undefined
        ? {}
        : { capabilities: record.capabilities, callsTool: record.callsTool }),
    };
  }

  /** The exact embeddings this simulator, as configured now, returns; see {@link expectedEmbedding}. */
  expectedEmbedding(
    model: string,
    input: string | readonly string[],
    options: { readonly dimensions?: number } = {},
  ): ExpectedEmbedding {
    return expectedEmbedding(model, input, {
      ...options,
      timings: this.#options.timings,
      ...(this.#options.embedDimensions === undefined
        ? {}
        : { embedDimensions: this.#options.embedDimensions }),
    });
  }

  /** Resolves once every response under way has finished (completed, aborted or cut). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /**
   * Stops listening, ends every response under way where it is (pending delays are cut) and
   * waits for the server to shut down. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      await this.#server.shutdown();
      await this.settled();
    })();
    return this.#closed;
  }

  async #handle(request: Request): Promise<Response> {
    const options = this.#options;
    const receivedAt = options.now();
    const sequence = ++this.#sequence;
    const url = new URL(request.url);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(await request.arrayBuffer());
    } catch {
      bytes = new Uint8Array();
    }
    const text = DECODER.decode(bytes);
    const record = new RecordedRequest({
      method: request.method,
      path: url.pathname,
      query: url.search,
      headers: new Headers(request.headers),
      body: text,
      bodyBytes: bytes.length,
      receivedAt,
    });
    if (!options.fast) this.requests.push(record);
    this.#inFlight.add(record.finished);
    record.finished.then(() => this.#inFlight.delete(record.finished));
    const clock = options.fast ? () => receivedAt : options.now;
    let signal: AbortSignal | undefined;
    let gone = false;
    const context: RouteContext = {
      options,
      catalog: this.#catalog,
      loaded: this.#loaded,
      blobs: this.#blobs,
      receivedAt,
      sequence,
      clock,
      admit: async (ask) => {
        const admission = await this.#scheduler.admit(ask, {
          options,
          clock,
          receivedAt,
          // Read only when the request has to wait: see #waitBeforeHeaders.
          signal: () => signal ??= AbortSignal.any([request.signal, this.#closing.signal]),
          finished: record.finished,
        });
        if (admission.kind === "gone") gone = true;
        if (admission.kind === "admitted") record.markWaited(admission);
        return admission;
      },
    };
    let reply: Reply;
    try {
      reply = await this.#dispatch(request, url, { bytes, text }, context);
    } catch (error) {
      reply = ollamaError(500, `the simulator could not answer: ${(error as Error).message}`);
    }
    if (gone) return this.#gone(this.#closing.signal.aborted ? "closing" : "client-gone", record);
    return await this.#respond(reply, request, record, options);
  }

  async #dispatch(
    request: Request,
    url: URL,
    body: { readonly bytes: Uint8Array<ArrayBuffer>; readonly text: string },
    context: RouteContext,
  ): Promise<Reply> {
    const { options } = context;
    let corsHeaders: Readonly<Record<string, string>> = {};
    if (options.rejectForeignOrigin) {
      const cors = corsDecision(request.method, request.headers, {
        allowedOrigins: options.allowedOrigins,
      });
      if (cors.kind === "reject") return emptyReply(403);
      if (cors.kind === "preflight") return emptyReply(204, { ...cors.headers });
      if (cors.kind === "allow") corsHeaders = cors.headers;
    }
    if (options.rejectForeignHost && !isAllowedHost(request.headers.get("host"))) {
      return emptyReply(403);
    }
    const path = url.pathname;
    const match = matchRoute(request.method, path);
    let reply: Reply;
    if (match.kind === "not-found") {
      reply = fixedReply(404, "404 page not found", { contentType: "text/plain" });
    } else if (match.kind === "wrong-method") {
      const notAllowed = fixedReply(405, "405 method not allowed", { contentType: "text/plain" });
      reply = { ...notAllowed, headers: { ...notAllowed.headers, allow: match.allow } };
    } else {
      reply = await match.handler({
        method: request.method,
        path,
        params: match.params,
        headers: request.headers,
        text: body.text,
        bytes: body.bytes,
      }, context);
    }
    return Object.keys(corsHeaders).length === 0
      ? reply
      : { ...reply, headers: { ...reply.headers, ...corsHeaders } };
  }

  async #respond(
    reply: Reply,
    request: Request,
    record: RecordedRequest,
    options: ResolvedOptions,
  ): Promise<Response> {
    const { status } = reply;
    const headers = new Headers(reply.headers);
    const parts = reply.parts?.[Symbol.iterator]();
    const bodyOptions = {
      split: options.split,
      seed: options.seed,
      splitDelayMs: options.splitDelayMs,
      fast: options.fast,
      closing: this.#closing.signal,
      events: {
        onWrite: (count: number) => record.markSent(count),
        onAbort: () => record.markAborted(),
        onEnd: () => record.markEnded(!this.#closing.signal.aborted),
      },
    };
    if (parts === undefined) {
      record.markResponded(status);
      record.markEnded(true);
      return new Response(null, { status, headers });
    }
    if (reply.framing === "length") {
      let delayMs = 0;
      const chunks: Uint8Array<ArrayBuffer>[] = [];
      for (let next = parts.next(); next.done !== true; next = parts.next()) {
        delayMs += next.value.delayMs;
        chunks.push(next.value.bytes);
      }
      const bytes = concat(chunks);
      const wait = await this.#waitBeforeHeaders(delayMs, request, options);
      if (wait !== "ready") return this.#gone(wait, record);
      headers.set("content-length", String(bytes.length));
      record.markResponded(status);
      if (request.method === "HEAD" || options.split === "line" || options.fast) {
        if (request.method !== "HEAD") record.markSent(bytes.length);
        record.markEnded(true);
        return new Response(bytes, { status, headers });
      }
      const stream = createBodyStream(bytes, [][Symbol.iterator](), bodyOptions);
      return new Response(stream, { status, headers });
    }
    const first = parts.next();
    if (first.done === true) {
      record.markResponded(status);
      record.markEnded(true);
      return new Response(new ReadableStream({ start: (c) => c.close() }), { status, headers });
    }
    const wait = await this.#waitBeforeHeaders(first.value.delayMs, request, options);
    if (wait !== "ready") {
      parts.return?.();
      return this.#gone(wait, record);
    }
    record.markResponded(status);
    const stream = createBodyStream(first.value.bytes, parts, bodyOptions);
    return new Response(stream, { status, headers });
  }

  /**
   * Waits before sending headers. Only here is `request.signal` read (Deno then prints a
   * one-time notice about its legacy abort behaviour): it is the only way to notice a client
   * that leaves before the first byte.
   */
  async #waitBeforeHeaders(
    ms: number,
    request: Request,
    options: ResolvedOptions,
  ): Promise<"ready" | "client-gone" | "closing"> {
    if (ms <= 0 || options.fast) return "ready";
    const closing = this.#closing.signal;
    if (closing.aborted) return "closing";
    const slept = await abortableSleep(ms, AbortSignal.any([request.signal, closing]));
    if (slept) return "ready";
    return closing.aborted ? "closing" : "client-gone";
  }

  #gone(kind: "client-gone" | "closing", record: RecordedRequest): Response {
    if (kind === "client-gone") {
      record.markAborted();
      return new Response(null, { status: 499 });
    }
    record.markEnded(false);
    return new Response(null, { status: 503 });
  }
}

function concat(chunks: readonly Uint8Array<ArrayBuffer>[]): Uint8Array<ArrayBuffer> {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const result = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    result.set(chunk, offset);
    offset += chunk.length;
  }
  return result;
}

if (import.meta.main) {
  Deno.exitCode = await runSimulatorCli(Deno.args, (options) => OllamaSimulator.start(options));
}
