/**
 * The part of Ollama's OpenAI Responses API (`/v1/responses`: a Server-Sent Events stream of
 * `event:` and `data:` lines, each `data` naming its `type`; or one JSON object) for the
 * {@linkcode StreamObserver}.
 *
 * Output is a non-empty `delta` of `response.output_text.delta` (answer),
 * `response.function_call_arguments.delta` (answer: a tool call being written),
 * `response.reasoning_summary_text.delta` or `response.reasoning_text.delta` (thinking). A
 * `function_call` item added to the output is a tool call. The stream ends with
 * `response.completed`, `response.incomplete` or `response.failed`, which carry the usage
 * (`input_tokens`, `output_tokens`); `response.failed` and an `error` event count as
 * `stream_error`. There is no `[DONE]`.
 *
 * @module
 */

import { endsWith, startsWith } from "../streams/byte_match.ts";
import { responsesFinishReason } from "./finish_reason.ts";
import { statsFromUsage } from "./generation_stats.ts";
import { isRecord, nonEmpty, parseObject, sseData } from "./parse_object.ts";
import type { RequestObservation } from "./request_observation.ts";
import type { StreamPart } from "./stream_observer.ts";

/** What each delta event carries. */
const DELTAS: ReadonlyMap<string, "answer" | "thinking"> = new Map([
  ["response.output_text.delta", "answer"],
  ["response.function_call_arguments.delta", "answer"],
  ["response.refusal.delta", "answer"],
  ["response.reasoning_summary_text.delta", "thinking"],
  ["response.reasoning_text.delta", "thinking"],
]);

const encoder = new TextEncoder();
/** How a delta event with a non-empty delta begins in Ollama's encoding (keys sorted). */
const NON_EMPTY_DELTA = encoder.encode('data: {"delta":"');
/** How each delta event ends in Ollama's encoding (`type` last), with the output it carries. */
const DELTA_ENDS: readonly (readonly [Uint8Array, "answer" | "thinking"])[] = [...DELTAS].map((
  [type, kind],
) => [encoder.encode(`"type":"${type}"}`), kind]);

/** The events that end a response. */
const ENDS = new Set(["response.completed", "response.incomplete", "response.failed"]);

/** Reads Responses events and objects into a request's observation. */
export class ResponsesPart implements StreamPart {
  #observation: RequestObservation;
  #complete = false;

  /** Creates the part for one response; `observation` is the request's record. */
  constructor(observation: RequestObservation) {
    this.#observation = observation;
  }

  /** Whether the response's last event (completed, incomplete, failed or error) arrived. */
  get complete(): boolean {
    return this.#complete;
  }

  /** Reads one SSE line; only `data:` lines matter (each names its event type). */
  line(line: Uint8Array, now: number): void {
    if (startsWith(line, NON_EMPTY_DELTA) && line[NON_EMPTY_DELTA.length] !== 0x22) {
      // A delta with output (the common case), recognised from its bytes.
      for (const [end, kind] of DELTA_ENDS) {
        if (endsWith(line, end)) {
          this.#observation.output(now, kind);
          return;
        }
      }
    }
    const data = sseData(line);
    if (data === undefined) return;
    const event = parseObject(data);
    if (event === undefined) {
      this.#observation.fail("stream_error");
      return;
    }
    const type = event.type;
    if (typeof type !== "string") return;
    const kind = DELTAS.get(type);
    if (kind !== undefined) {
      if (nonEmpty(event.delta)) this.#observation.output(now, kind);
    } else if (type === "response.output_item.added") {
      if (isRecord(event.item) && event.item.type === "function_call") {
        this.#observation.toolCalls(1);
      }
    } else if (ENDS.has(type)) {
      this.#complete = true;
      if (type === "response.failed") this.#observation.fail("stream_error");
      this.#response(event.response, { calls: false });
    } else if (type === "error") {
      this.#complete = true;
      this.#observation.fail("stream_error");
    }
  }

  /** Reads a non-streamed answer: usage, status and tool calls. */
  object(text: string): void {
    const record = parseObject(text);
    if (record === undefined) return;
    this.#response(record, { calls: true });
    if (record.status === "failed") this.#observation.fail("stream_error");
  }

  /** Reads a response object: usage, status, and (unless streamed) its tool calls. */
  #response(response: unknown, options: { calls: boolean }): void {
    if (!isRecord(response)) return;
    if (response.usage !== undefined) this.#observation.stats(statsFromUsage(response.usage));
    if (options.calls && Array.isArray(response.output)) {
      const calls = response.output.filter((item) =>
        isRecord(item) && item.type === "function_call"
      );
      this.#observation.toolCalls(calls.length);
    }
    const details = isRecord(response.incomplete_details) ? response.incomplete_details : {};
    this.#observation.ended(responsesFinishReason(response.status, details.reason));
  }
}
