/**
 * The part of Ollama's native API (`/api/generate`, `/api/chat`: NDJSON streams or one JSON
 * object; `/api/embed`, `/api/embeddings`: one JSON object, possibly tens of megabytes, whose
 * numbers come last) for the {@linkcode StreamObserver}.
 *
 * An intermediate chunk (`"done":false}` at its end) is classified from its bytes: a non-empty
 * `content` or `response` is answer output, a non-empty `thinking` is thinking; only chunks with
 * `tool_calls`, the final chunk and error lines are decoded and parsed.
 *
 * @module
 */

import { endsWith, hasNonEmptyString, indexOfBytes } from "../streams/byte_match.ts";
import { finishReason } from "./finish_reason.ts";
import { type GenerationStats, statsFromOllama, statsFromTail } from "./generation_stats.ts";
import { nonEmpty, parseObject as parse } from "./parse_object.ts";
import type { RequestObservation } from "./request_observation.ts";
import type { StreamPart } from "./stream_observer.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const INTERMEDIATE_END = encoder.encode('"done":false}');
const CONTENT = encoder.encode('"content":"');
const RESPONSE = encoder.encode('"response":"');
const THINKING = encoder.encode('"thinking":"');
const TOOL_CALLS = encoder.encode('"tool_calls":');

/** Reads native chunks and objects into a request's observation. */
export class NativePart implements StreamPart {
  #observation: RequestObservation;
  #complete = false;

  /** Creates the part for one response; `observation` is the request's record. */
  constructor(observation: RequestObservation) {
    this.#observation = observation;
  }

  /** Whether the final chunk (or an error line) arrived. */
  get complete(): boolean {
    return this.#complete;
  }

  /** Reads one NDJSON line. */
  line(line: Uint8Array, now: number): void {
    if (line.length === 0) return;
    if (endsWith(line, INTERMEDIATE_END) && indexOfBytes(line, TOOL_CALLS) === -1) {
      // An intermediate chunk without tool calls (the common case): no need to decode it.
      if (hasNonEmptyString(line, CONTENT) || hasNonEmptyString(line, RESPONSE)) {
        this.#observation.output(now, "answer");
      } else if (hasNonEmptyString(line, THINKING)) {
        this.#observation.output(now, "thinking");
      }
      return;
    }
    const record = parse(decoder.decode(line));
    if (record === undefined) {
      // Not a JSON object: Ollama does not send such lines; the client sees it untouched.
      this.#observation.fail("stream_error");
      return;
    }
    if (record.error !== undefined) {
      this.#observation.fail("stream_error");
      this.#complete = true;
      return;
    }
    this.#output(record, now);
    if (record.done === true) {
      this.#complete = true;
      this.#stats(statsFromOllama(record));
    }
  }

  /** Reads a non-streamed answer: its stats, finish reason and tool calls. */
  object(text: string, truncated: boolean): void {
    if (truncated) {
      // Only the tail of a huge line was kept (a 60 MB embedding): Ollama writes its numbers last.
      this.#stats(statsFromTail(text));
      return;
    }
    const record = parse(text);
    if (record === undefined) return;
    this.#observation.toolCalls(toolCallsOf(record));
    this.#stats(statsFromOllama(record));
  }

  #output(record: Record<string, unknown>, now: number): void {
    const message = record.message as Record<string, unknown> | undefined;
    const calls = toolCallsOf(record);
    if (calls > 0) this.#observation.toolCalls(calls);
    if (calls > 0 || nonEmpty(message?.content) || nonEmpty(record.response)) {
      this.#observation.output(now, "answer");
    } else if (nonEmpty(message?.thinking) || nonEmpty(record.thinking)) {
      this.#observation.output(now, "thinking");
    }
  }

  #stats(stats: GenerationStats): void {
    if (stats.doneReason !== undefined) this.#observation.ended(finishReason(stats.doneReason));
    this.#observation.stats(stats);
  }
}

/** The tool calls of a native chunk or answer (`message.tool_calls`). */
function toolCallsOf(record: Record<string, unknown>): number {
  const message = record.message as Record<string, unknown> | undefined;
  const calls = message?.tool_calls;
  return Array.isArray(calls) ? calls.length : 0;
}
