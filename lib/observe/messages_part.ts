/**
 * The part of Ollama's Anthropic-compatible Messages API (`/v1/messages`: a Server-Sent Events
 * stream of `event:` and `data:` lines, or one JSON object) for the {@linkcode StreamObserver}.
 *
 * Output is a `content_block_delta` with a non-empty `text` (answer), `partial_json` (answer: a
 * tool call being written) or `thinking` (thinking). A `tool_use` content block is a tool call.
 * Token counts come from `message_delta`'s usage: the usage in `message_start` is only Ollama's
 * estimate (6 against a real 23). `stop_reason` is normalised (`end_turn` → `stop`, `max_tokens`
 * → `length`, `tool_use` → `tool_calls`). The stream ends with `message_stop`; an `error` event
 * counts as `stream_error`.
 *
 * @module
 */

import { hasNonEmptyString, startsWith } from "../streams/byte_match.ts";
import { finishReason } from "./finish_reason.ts";
import { statsFromUsage } from "./generation_stats.ts";
import { isRecord, nonEmpty, parseObject, sseData } from "./parse_object.ts";
import type { RequestObservation } from "./request_observation.ts";
import type { StreamPart } from "./stream_observer.ts";

const encoder = new TextEncoder();
/** How a content block delta begins in Ollama's encoding (`type` first, then `index`). */
const DELTA_START = encoder.encode('data: {"type":"content_block_delta",');
const TEXT = encoder.encode('"delta":{"type":"text_delta","text":"');
const THINKING = encoder.encode('"delta":{"type":"thinking_delta","thinking":"');
const JSON_PART = encoder.encode('"delta":{"type":"input_json_delta","partial_json":"');

/** Reads Messages events and objects into a request's observation. */
export class MessagesPart implements StreamPart {
  #observation: RequestObservation;
  #complete = false;

  /** Creates the part for one response; `observation` is the request's record. */
  constructor(observation: RequestObservation) {
    this.#observation = observation;
  }

  /** Whether `message_stop` (or an `error` event) arrived. */
  get complete(): boolean {
    return this.#complete;
  }

  /** Reads one SSE line; only `data:` lines matter (each names its event type). */
  line(line: Uint8Array, now: number): void {
    if (startsWith(line, DELTA_START)) {
      // A delta with output (the common case), recognised from its bytes; in compact JSON a
      // quote inside a string is escaped, so these keys cannot be part of the text.
      if (hasNonEmptyString(line, TEXT) || hasNonEmptyString(line, JSON_PART)) {
        this.#observation.output(now, "answer");
        return;
      }
      if (hasNonEmptyString(line, THINKING)) {
        this.#observation.output(now, "thinking");
        return;
      }
    }
    const data = sseData(line);
    if (data === undefined) return;
    const event = parseObject(data);
    if (event === undefined) {
      this.#observation.fail("stream_error");
      return;
    }
    switch (event.type) {
      case "content_block_delta":
        this.#delta(event.delta, now);
        break;
      case "content_block_start":
        if (isRecord(event.content_block) && event.content_block.type === "tool_use") {
          this.#observation.toolCalls(1);
        }
        break;
      case "message_delta":
        if (event.usage !== undefined) this.#observation.stats(statsFromUsage(event.usage));
        if (isRecord(event.delta) && typeof event.delta.stop_reason === "string") {
          this.#observation.ended(finishReason(event.delta.stop_reason));
        }
        break;
      case "message_stop":
        this.#complete = true;
        break;
      case "error":
        this.#complete = true;
        this.#observation.fail("stream_error");
        break;
    }
  }

  /** Reads a non-streamed answer: usage, stop reason and tool calls. */
  object(text: string): void {
    const record = parseObject(text);
    if (record === undefined) return;
    if (record.type === "error") {
      this.#observation.fail("stream_error");
      return;
    }
    if (record.usage !== undefined) this.#observation.stats(statsFromUsage(record.usage));
    if (Array.isArray(record.content)) {
      const calls = record.content.filter((block) => isRecord(block) && block.type === "tool_use");
      this.#observation.toolCalls(calls.length);
    }
    if (typeof record.stop_reason === "string") {
      this.#observation.ended(finishReason(record.stop_reason));
    }
  }

  #delta(delta: unknown, now: number): void {
    if (!isRecord(delta)) return;
    if (nonEmpty(delta.text) || nonEmpty(delta.partial_json)) {
      this.#observation.output(now, "answer");
    } else if (nonEmpty(delta.thinking)) {
      this.#observation.output(now, "thinking");
    }
  }
}
