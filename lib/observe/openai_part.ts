/**
 * The part of Ollama's OpenAI-compatible API (`/v1/chat/completions`, `/v1/completions`,
 * `/v1/embeddings`: a Server-Sent Events stream ending with `data: [DONE]`, or one JSON object)
 * for the {@linkcode StreamObserver}.
 *
 * Both generations of Ollama's chat stream are read: up to v0.32.5 every chunk repeats
 * `"role":"assistant"` and the stream ends with an empty-content delta carrying `finish_reason`
 * (intermediate deltas may be empty too, holding back a partial UTF-8 character); from v0.32.6
 * `role` is only in the first chunk and `finish_reason` comes in a chunk of its own with
 * `delta: {}`. Output is what a delta carries — non-empty `content` (answer), `reasoning`
 * (thinking) or `tool_calls` (answer) — never an empty or role-only delta. An ordinary chunk
 * (`"finish_reason":null}]}` at its end, no tool calls) is classified from its bytes.
 *
 * When the proxy added `stream_options.include_usage` to the client's request (so that token
 * counts are known), the part also takes out of the stream what that option added, so the client
 * gets exactly the stream it asked for: the usage-only chunk (`"choices":[]`) with its blank line,
 * and the `usage` member `/v1/completions` puts in every chunk.
 *
 * @module
 */

import { endsWith, hasNonEmptyString, indexOfBytes, startsWith } from "../streams/byte_match.ts";
import { finishReason } from "./finish_reason.ts";
import { statsFromTail, statsFromUsage } from "./generation_stats.ts";
import { isRecord, nonEmpty, parseObject } from "./parse_object.ts";
import type { OutputKind, RequestObservation } from "./request_observation.ts";
import type { StreamPart } from "./stream_observer.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
/** The end of an ordinary chat chunk, recognised without decoding it. */
const ORDINARY_CHAT_END = encoder.encode('"finish_reason":null}]}');
const DATA_PREFIX = encoder.encode("data: ");
const CONTENT = encoder.encode('"content":"');
const REASONING = encoder.encode('"reasoning":"');
const TOOL_CALLS = encoder.encode('"tool_calls":');

/** Reads OpenAI-style chunks and objects into a request's observation; optionally strips usage. */
export class OpenAiPart implements StreamPart {
  #observation: RequestObservation;
  #stripUsage: boolean;
  #complete = false;
  #dropBlank = false;

  /**
   * Creates the part for one response.
   *
   * @param observation the request's record.
   * @param options `stripUsage` when the proxy injected `include_usage` and must remove what it
   * added.
   */
  constructor(observation: RequestObservation, options: { stripUsage?: boolean } = {}) {
    this.#observation = observation;
    this.#stripUsage = options.stripUsage ?? false;
  }

  /** Whether `data: [DONE]` (or an error object) arrived. */
  get complete(): boolean {
    return this.#complete;
  }

  /** Whether the part removes what the injected `include_usage` added. */
  get rewrites(): boolean {
    return this.#stripUsage;
  }

  /** Reads one SSE line; returns what to send in its place when stripping usage. */
  line(line: Uint8Array, now: number): Uint8Array | null | void {
    if (
      !this.#dropBlank && endsWith(line, ORDINARY_CHAT_END) && startsWith(line, DATA_PREFIX) &&
      indexOfBytes(line, TOOL_CALLS) === -1
    ) {
      // An ordinary chat chunk (the common case): no need to decode it.
      if (hasNonEmptyString(line, CONTENT)) this.#observation.output(now, "answer");
      else if (hasNonEmptyString(line, REASONING)) this.#observation.output(now, "thinking");
      return;
    }
    const text = decoder.decode(line);
    if (text === "") {
      if (!this.#dropBlank) return;
      this.#dropBlank = false;
      return null;
    }
    this.#dropBlank = false;
    if (!text.startsWith("data:")) return;
    const payload = text.slice(text[5] === " " ? 6 : 5);
    if (payload === "[DONE]") {
      this.#complete = true;
      return;
    }
    const record = parseObject(payload);
    if (record === undefined) {
      this.#observation.fail("stream_error");
      return;
    }
    if (record.error !== undefined) {
      this.#observation.fail("stream_error");
      this.#complete = true;
      return;
    }
    const usage = statsFromUsage(record.usage);
    if (
      usage.promptTokens !== undefined || usage.outputTokens !== undefined ||
      usage.invalid !== undefined
    ) {
      // /v1/completions sends zero usage in every chunk and the real one last: last wins.
      this.#observation.stats(usage);
    }
    const choices = Array.isArray(record.choices) ? record.choices : [];
    const choice = choices[0];
    if (isRecord(choice)) this.#choice(choice, now);
    if (!this.#stripUsage) return;
    if (choices.length === 0) {
      this.#dropBlank = true;
      return null;
    }
    const stripped = text.replace(/,"usage":\{[^{}]*\}/, "");
    return stripped === text ? undefined : encoder.encode(stripped);
  }

  /** Reads a non-streamed answer: usage, finish reason and tool calls. */
  object(text: string, truncated: boolean): void {
    if (truncated) {
      this.#observation.stats(statsFromTail(text));
      return;
    }
    const record = parseObject(text);
    if (record === undefined) return;
    if (record.usage !== undefined) this.#observation.stats(statsFromUsage(record.usage));
    const choice = Array.isArray(record.choices) ? record.choices[0] : undefined;
    if (!isRecord(choice)) return;
    const message = isRecord(choice.message) ? choice.message : {};
    this.#observation.toolCalls(Array.isArray(message.tool_calls) ? message.tool_calls.length : 0);
    if (typeof choice.finish_reason === "string") {
      this.#observation.ended(finishReason(choice.finish_reason));
    }
  }

  /** Reads the first choice of a chunk: output, tool calls, finish reason. */
  #choice(choice: Record<string, unknown>, now: number): void {
    const delta = isRecord(choice.delta) ? choice.delta : {};
    const calls = Array.isArray(delta.tool_calls)
      ? delta.tool_calls.filter((call) => isRecord(call) && typeof call.id === "string").length
      : 0;
    if (calls > 0) this.#observation.toolCalls(calls);
    let kind: OutputKind | undefined;
    if (
      calls > 0 || (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) ||
      nonEmpty(delta.content) || nonEmpty(choice.text)
    ) {
      kind = "answer";
    } else if (nonEmpty(delta.reasoning)) {
      kind = "thinking";
    }
    if (kind) this.#observation.output(now, kind);
    if (typeof choice.finish_reason === "string") {
      this.#observation.ended(finishReason(choice.finish_reason));
    }
  }
}
