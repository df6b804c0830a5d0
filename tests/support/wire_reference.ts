/**
 * Test helper: the reference reading of one Ollama answer, computed from the exact bytes Ollama
 * sent (see `recording_hop.ts`) and independently of `lib/`, following the issue #11 spec
 * (`notes/spec_11.md`): prompt and output tokens, output and answer chunks, tool calls, the
 * normalised finish reason and error events, for every API family Ollama serves:
 *
 * - native `/api/generate`, `/api/chat` (NDJSON stream or one JSON object), `/api/embed`;
 * - OpenAI `/v1/chat/completions`, `/v1/completions` (SSE `data:` lines ending `data: [DONE]`, or
 *   one JSON object), `/v1/embeddings`;
 * - OpenAI Responses `/v1/responses` (SSE `event:` / `data:` pairs, or one JSON object);
 * - Anthropic Messages `/v1/messages` (SSE `event:` / `data:` pairs, or one JSON object).
 *
 * @module
 */

/** The endpoints whose 2xx answers count as finished generations. */
const GENERATION_ENDPOINTS: ReadonlySet<string> = new Set([
  "/api/generate",
  "/api/chat",
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/responses",
  "/v1/messages",
]);

/** What one answer carried, as the spec defines each number. */
export interface WireFacts {
  /** The `endpoint` label: the request path without its query. */
  readonly endpoint: string;
  /** Whether the body is a stream (`application/x-ndjson` or `text/event-stream`). */
  readonly streaming: boolean;
  /** Prompt tokens Ollama reported, or `null` when it reported none. */
  readonly promptTokens: number | null;
  /** Output tokens Ollama reported, or `null` when it reported none. */
  readonly outputTokens: number | null;
  /** Ollama's own durations in nanoseconds (native final chunk or object), `null` when absent. */
  readonly durations: Durations;
  /** Stream lines/events that carried generated output of any kind (0 for a non-stream). */
  readonly outputChunks: number;
  /** Output chunks that carried answer text, a tool call or its arguments (not thinking). */
  readonly answerChunks: number;
  /** Output chunks that carried thinking / reasoning. */
  readonly thinkingChunks: number;
  /** Tool calls the answer made. */
  readonly toolCalls: number;
  /** The raw reason Ollama gave (`done_reason`, `finish_reason`, `stop_reason`, `status`). */
  readonly rawReason: string | null;
  /**
   * The normalised `reason` of `ollama_finished_generations_total`, or `null` when the answer is
   * not a 2xx answer of a generation endpoint.
   */
  readonly finishReason: string | null;
  /** Error events in a stream (native `{"error"}` lines, SSE error events, `response.failed`). */
  readonly errorEvents: number;
  /** Whether the stream ended with its terminator (always `true` for a non-stream). */
  readonly terminated: boolean;
  /** Whether the exporter must count a `stream_error`: an error event, or no terminator. */
  readonly streamError: boolean;
}

/** Ollama's durations of one answer, in nanoseconds, each `null` when not sent. */
export interface Durations {
  /** `total_duration`. */
  readonly total: number | null;
  /** `load_duration`. */
  readonly load: number | null;
  /** `prompt_eval_duration`. */
  readonly promptEval: number | null;
  /** `eval_duration`. */
  readonly eval: number | null;
}

/** The parts of a recorded exchange the reading needs. */
export interface WireAnswer {
  /** The request path, with or without a query (`/v1/messages?beta=true`). */
  readonly target: string;
  /** Ollama's status. */
  readonly status: number;
  /** Ollama's `Content-Type`, or `null`. */
  readonly contentType: string | null;
  /** The body bytes Ollama sent. */
  readonly body: Uint8Array;
}

type Json = Record<string, unknown>;

/** Mutable tally while reading. */
interface Tally {
  promptTokens: number | null;
  outputTokens: number | null;
  durations: Durations;
  outputChunks: number;
  answerChunks: number;
  thinkingChunks: number;
  toolCalls: number;
  rawReason: string | null;
  errorEvents: number;
  terminated: boolean;
}

/** An SSE event: its `event:` name (or `null`) and its `data:` lines joined. */
interface SseEvent {
  readonly name: string | null;
  readonly data: string;
}

/**
 * Reads one answer as the spec defines its numbers (see the module documentation). Answers with a
 * status of 400 or more carry nothing but their status.
 */
export function readWire(answer: WireAnswer): WireFacts {
  const endpoint = answer.target.split("?")[0]!;
  const type = answer.contentType ?? "";
  const streaming = type.includes("text/event-stream") || type.includes("application/x-ndjson");
  const tally: Tally = {
    promptTokens: null,
    outputTokens: null,
    durations: { total: null, load: null, promptEval: null, eval: null },
    outputChunks: 0,
    answerChunks: 0,
    thinkingChunks: 0,
    toolCalls: 0,
    rawReason: null,
    errorEvents: 0,
    terminated: !streaming,
  };
  if (answer.status >= 400) {
    return { endpoint, streaming, ...tally, finishReason: null, streamError: false };
  }
  const text = new TextDecoder().decode(answer.body);
  let normalise: (raw: string | null, toolCalls: number) => string = nativeReason;
  switch (endpoint) {
    case "/api/generate":
    case "/api/chat":
    case "/api/embed":
    case "/api/embeddings":
      if (streaming) readNativeStream(text, tally);
      else readNativeObject(parseObject(text), tally);
      break;
    case "/v1/chat/completions":
    case "/v1/completions":
    case "/v1/embeddings":
      normalise = openAiReason;
      if (streaming) readOpenAiStream(text, tally);
      else readOpenAiObject(parseObject(text), tally);
      break;
    case "/v1/responses":
      normalise = responsesReason;
      if (streaming) readResponsesStream(text, tally);
      else readResponsesObject(parseObject(text), tally);
      break;
    case "/v1/messages":
      normalise = messagesReason;
      if (streaming) readMessagesStream(text, tally);
      else readMessagesObject(parseObject(text), tally);
      break;
    default:
      throw new Error(`readWire: no reading for ${endpoint}`);
  }
  const streamError = streaming && (tally.errorEvents > 0 || !tally.terminated);
  const generation = GENERATION_ENDPOINTS.has(endpoint) && answer.status < 300;
  const finishReason = !generation
    ? null
    : streamError
    ? "error"
    : normalise(tally.rawReason, tally.toolCalls);
  return { endpoint, streaming, ...tally, finishReason, streamError };
}

// --- normalised reasons -------------------------------------------------------------------------

/** `stop` after at least one tool call becomes `tool_calls`; no reason at all is `error`. */
function withTools(reason: string | null, toolCalls: number): string {
  if (reason === null) return "error";
  return reason === "stop" && toolCalls > 0 ? "tool_calls" : reason;
}

function nativeReason(raw: string | null, toolCalls: number): string {
  if (raw === null) return "error";
  const known = ["stop", "length", "load", "unload"].includes(raw) ? raw : "other";
  return withTools(known, toolCalls);
}

function openAiReason(raw: string | null, toolCalls: number): string {
  if (raw === null) return "error";
  const known = ["stop", "length", "tool_calls"].includes(raw) ? raw : "other";
  return withTools(known, toolCalls);
}

function messagesReason(raw: string | null, toolCalls: number): string {
  const map: Record<string, string> = {
    end_turn: "stop",
    stop_sequence: "stop",
    max_tokens: "length",
    tool_use: "tool_calls",
  };
  if (raw === null) return "error";
  return withTools(map[raw] ?? "other", toolCalls);
}

function responsesReason(raw: string | null, toolCalls: number): string {
  const map: Record<string, string> = { completed: "stop", incomplete: "length", failed: "error" };
  if (raw === null) return "error";
  return withTools(map[raw] ?? "other", toolCalls);
}

// --- small readers --------------------------------------------------------------------------------

function parseObject(text: string): Json {
  const value: unknown = JSON.parse(text);
  if (!isObject(value)) throw new Error(`readWire: not a JSON object: ${text.slice(0, 200)}`);
  return value;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function object(value: unknown): Json {
  return isObject(value) ? value : {};
}

function nonEmpty(value: unknown): boolean {
  return typeof value === "string" && value !== "";
}

function count(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

/** A token count as Ollama sends it (a non-negative safe integer), else `null`. */
function tokens(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

function reason(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** Counts one stream chunk by what it carried. */
function chunk(tally: Tally, carried: { answer: boolean; thinking: boolean }): void {
  if (!carried.answer && !carried.thinking) return;
  tally.outputChunks++;
  if (carried.answer) tally.answerChunks++;
  if (carried.thinking) tally.thinkingChunks++;
}

/** The non-empty lines of a body, `\r\n` or `\n` ended. */
function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line !== "");
}

/** Splits an SSE body into events (blank-line separated `event:` / `data:` fields). */
function sseEvents(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  let name: string | null = null;
  let data: string[] = [];
  const flush = () => {
    if (data.length > 0) events.push({ name, data: data.join("\n") });
    name = null;
    data = [];
  };
  for (const line of text.split(/\r?\n/)) {
    if (line === "") flush();
    else if (line.startsWith("event:")) name = line.slice(6).trimStart();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    // Comments (`:`) and other fields carry nothing here.
  }
  flush();
  return events;
}

function parseData(data: string): Json {
  const value: unknown = JSON.parse(data);
  return object(value);
}

// --- native -------------------------------------------------------------------------------------

function readNativeObject(record: Json, tally: Tally): void {
  tally.toolCalls += count(object(record.message).tool_calls);
  if (record.done === true || record.prompt_eval_count !== undefined) {
    readNativeFinal(record, tally);
  }
}

function readNativeFinal(record: Json, tally: Tally): void {
  tally.promptTokens = tokens(record.prompt_eval_count);
  tally.outputTokens = tokens(record.eval_count);
  // Durations are whole nanoseconds, valid under the same rule as token counts.
  tally.durations = {
    total: tokens(record.total_duration),
    load: tokens(record.load_duration),
    promptEval: tokens(record.prompt_eval_duration),
    eval: tokens(record.eval_duration),
  };
  tally.rawReason = reason(record.done_reason);
}

function readNativeStream(text: string, tally: Tally): void {
  for (const line of lines(text)) {
    const record = parseData(line);
    if (record.error !== undefined) {
      tally.errorEvents++;
      continue;
    }
    const message = object(record.message);
    const calls = count(message.tool_calls);
    tally.toolCalls += calls;
    chunk(tally, {
      answer: nonEmpty(record.response) || nonEmpty(message.content) || calls > 0,
      thinking: nonEmpty(record.thinking) || nonEmpty(message.thinking),
    });
    if (record.done === true) {
      tally.terminated = true;
      readNativeFinal(record, tally);
    }
  }
}

// --- OpenAI chat / completions / embeddings -----------------------------------------------------

function readUsage(usage: unknown, tally: Tally): void {
  if (!isObject(usage)) return;
  tally.promptTokens = tokens(usage.prompt_tokens);
  tally.outputTokens = tokens(usage.completion_tokens);
}

function readOpenAiObject(record: Json, tally: Tally): void {
  for (const choice of Array.isArray(record.choices) ? record.choices : []) {
    tally.toolCalls += count(object(object(choice).message).tool_calls);
    tally.rawReason = reason(object(choice).finish_reason) ?? tally.rawReason;
  }
  readUsage(record.usage, tally);
}

function readOpenAiStream(text: string, tally: Tally): void {
  for (const event of sseEvents(text)) {
    if (event.data === "[DONE]") {
      tally.terminated = true;
      continue;
    }
    const record = parseData(event.data);
    if (record.error !== undefined) {
      tally.errorEvents++;
      continue;
    }
    let answer = false;
    let thinking = false;
    for (const item of Array.isArray(record.choices) ? record.choices : []) {
      const choice = object(item);
      const delta = object(choice.delta);
      const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
      tally.toolCalls += calls.filter((call) => nonEmpty(object(call).id)).length;
      answer ||= nonEmpty(delta.content) || calls.length > 0 || nonEmpty(choice.text);
      thinking ||= nonEmpty(delta.reasoning);
      tally.rawReason = reason(choice.finish_reason) ?? tally.rawReason;
    }
    chunk(tally, { answer, thinking });
    // /v1/completions sends a zero usage in every chunk and the real one last: the last wins.
    readUsage(record.usage, tally);
  }
}

// --- Responses ----------------------------------------------------------------------------------

const RESPONSES_ANSWER = new Set([
  "response.output_text.delta",
  "response.function_call_arguments.delta",
]);
const RESPONSES_THINKING = new Set([
  "response.reasoning_summary_text.delta",
  "response.reasoning_text.delta",
]);
const RESPONSES_END = new Set(["response.completed", "response.incomplete", "response.failed"]);

function readResponsesUsage(usage: unknown, tally: Tally): void {
  if (!isObject(usage)) return;
  tally.promptTokens = tokens(usage.input_tokens);
  tally.outputTokens = tokens(usage.output_tokens);
}

function readResponsesObject(record: Json, tally: Tally): void {
  const output = Array.isArray(record.output) ? record.output : [];
  tally.toolCalls += output.filter((item) => object(item).type === "function_call").length;
  tally.rawReason = reason(record.status);
  readResponsesUsage(record.usage, tally);
}

function readResponsesStream(text: string, tally: Tally): void {
  for (const event of sseEvents(text)) {
    const record = parseData(event.data);
    const type = typeof record.type === "string" ? record.type : event.name ?? "";
    const delta = nonEmpty(record.delta);
    chunk(tally, {
      answer: delta && RESPONSES_ANSWER.has(type),
      thinking: delta && RESPONSES_THINKING.has(type),
    });
    if (type === "response.output_item.added" && object(record.item).type === "function_call") {
      tally.toolCalls++;
    }
    if (type === "error" || type === "response.failed") tally.errorEvents++;
    if (RESPONSES_END.has(type)) {
      tally.terminated = true;
      const response = object(record.response);
      tally.rawReason = reason(response.status) ?? type.slice("response.".length);
      readResponsesUsage(response.usage, tally);
    }
  }
}

// --- Messages -----------------------------------------------------------------------------------

function readMessagesUsage(usage: unknown, tally: Tally): void {
  if (!isObject(usage)) return;
  tally.promptTokens = tokens(usage.input_tokens);
  tally.outputTokens = tokens(usage.output_tokens);
}

function readMessagesObject(record: Json, tally: Tally): void {
  const content = Array.isArray(record.content) ? record.content : [];
  tally.toolCalls += content.filter((block) => object(block).type === "tool_use").length;
  tally.rawReason = reason(record.stop_reason);
  readMessagesUsage(record.usage, tally);
}

function readMessagesStream(text: string, tally: Tally): void {
  for (const event of sseEvents(text)) {
    const record = parseData(event.data);
    const type = typeof record.type === "string" ? record.type : event.name ?? "";
    switch (type) {
      case "content_block_start":
        if (object(record.content_block).type === "tool_use") tally.toolCalls++;
        break;
      case "content_block_delta": {
        const delta = object(record.delta);
        chunk(tally, {
          answer: nonEmpty(delta.text) || nonEmpty(delta.partial_json),
          thinking: nonEmpty(delta.thinking),
        });
        break;
      }
      case "message_delta":
        // The real counts; message_start's input_tokens is only an estimate.
        tally.rawReason = reason(object(record.delta).stop_reason) ?? tally.rawReason;
        readMessagesUsage(record.usage, tally);
        break;
      case "message_stop":
        tally.terminated = true;
        break;
      case "error":
        tally.errorEvents++;
        break;
    }
  }
}
