/**
 * Observes a response of Ollama's native API as it passes through: `/api/generate` and
 * `/api/chat` (an NDJSON stream, or one JSON object), `/api/embed` and `/api/embeddings` (one JSON
 * object, possibly tens of megabytes, whose numbers come last). Intermediate chunks are recognised by their last bytes
 * (`"done":false}`) without being decoded; only the final chunk and error lines are parsed.
 *
 * @module
 */

import { ByteLineSplitter } from "../streams/byte_line_splitter.ts";
import { endsWith } from "../streams/byte_match.ts";
import type { BodyObserver } from "../streams/tap_body.ts";
import { statsFromOllama, statsFromTail } from "./generation_stats.ts";
import type { RequestObservation } from "./request_observation.ts";

/** Decodes whole lines only (no streaming state), so one decoder serves every stream. */
const decoder = new TextDecoder();

const INTERMEDIATE_END = new TextEncoder().encode('"done":false}');

/**
 * Feeds a native response body into a request's observation and finishes it with `status` when
 * the body ends or is aborted.
 */
export class NativeStreamObserver implements BodyObserver {
  #observation: RequestObservation;
  #status: number;
  #splitter: ByteLineSplitter;
  #now = 0;
  #sawFinal = false;
  #streaming: boolean;

  /**
   * Creates an observer for one response body.
   *
   * @param observation the request's record.
   * @param options `status` sent to the client; `streaming` when the body is NDJSON (chunks carry
   * output and time to first token is measured), otherwise the body is one final object.
   */
  constructor(
    observation: RequestObservation,
    options: { status: number; streaming: boolean },
  ) {
    this.#observation = observation;
    this.#status = options.status;
    this.#streaming = options.streaming;
    this.#splitter = new ByteLineSplitter((line, info) => this.#line(line, info.truncated));
  }

  /**
   * Reads the lines `bytes` completes: intermediate chunks count as output, the final one gives
   * the stats. `now` is `performance.now()`, in milliseconds.
   */
  chunk(bytes: Uint8Array, now: number): void {
    this.#now = now;
    this.#splitter.push(bytes);
  }

  /**
   * Reads the last line and finishes the record; a 200 body without a final chunk is recorded as
   * a `stream_error`.
   */
  end(now: number): void {
    this.#now = now;
    this.#splitter.flush();
    if (!this.#sawFinal && this.#status === 200) this.#observation.fail("stream_error");
    this.#observation.finish(this.#status, now);
  }

  /**
   * Records `client_disconnect`, or why reading from Ollama failed, and finishes the record.
   */
  abort(reason: unknown, now: number, options: { byClient: boolean }): void {
    this.#observation.abort(reason, { byClient: options.byClient, code: this.#status, now });
  }

  #line(line: Uint8Array, truncated: boolean): void {
    if (line.length === 0) return;
    if (this.#streaming && endsWith(line, INTERMEDIATE_END)) {
      this.#observation.output(this.#now);
      return;
    }
    const text = decoder.decode(line);
    if (truncated) {
      // Only the tail of a huge line was kept (a 60 MB embedding): Ollama writes its numbers last.
      if (!this.#streaming || text.includes('"done":true')) this.#final(statsFromTail(text), false);
      return;
    }
    let object: unknown;
    try {
      object = JSON.parse(text);
    } catch {
      // Not JSON: Ollama does not send such lines; the client sees it untouched.
      if (this.#status === 200) this.#observation.fail("stream_error");
      return;
    }
    if (typeof object !== "object" || object === null) return;
    const record = object as Record<string, unknown>;
    if (record.error !== undefined) {
      if (this.#status === 200) this.#observation.fail("stream_error");
      this.#sawFinal = true;
      return;
    }
    if (record.done === true || !this.#streaming) {
      this.#final(statsFromOllama(record), hasText(record));
    } else {
      this.#observation.output(this.#now);
    }
  }

  #final(stats: ReturnType<typeof statsFromOllama>, carriesText: boolean): void {
    this.#sawFinal = true;
    if (this.#streaming && carriesText) this.#observation.output(this.#now);
    this.#observation.stats(stats);
  }
}

function hasText(record: Record<string, unknown>): boolean {
  if (typeof record.response === "string" && record.response !== "") return true;
  const message = record.message as Record<string, unknown> | undefined;
  return typeof message?.content === "string" && message.content !== "";
}
