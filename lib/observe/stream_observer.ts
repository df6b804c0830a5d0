/**
 * One design for observing every API family's response: this core splits the body into lines
 * (bytes, never decoded unless a part asks), keeps the time, and owns everything the families
 * share — the end of the record, a stream that stopped before its terminator (`stream_error`), a
 * client that left, a huge one-object body of which only the tail is kept. What differs per family
 * (which line carries output, thinking or an answer, tool calls, usage, why the generation ended,
 * what the terminator is) lives in a small {@linkcode StreamPart}: native NDJSON, OpenAI
 * chat/completions SSE, OpenAI Responses SSE, Anthropic Messages SSE. The parts report into the
 * request's {@linkcode RequestObservation}, which does the timing (first token, first answer,
 * time per output token) once for all of them.
 *
 * @module
 */

import { ByteLineSplitter } from "../streams/byte_line_splitter.ts";
import { concatBytes } from "../streams/concat_bytes.ts";
import type { BodyObserver } from "../streams/tap_body.ts";
import type { RequestObservation } from "./request_observation.ts";

/** What one API family knows about its responses. */
export interface StreamPart {
  /** Whether the stream reached its proper end (native final chunk, `[DONE]`, `message_stop`…). */
  readonly complete: boolean;
  /**
   * Whether the part may change what the client gets (lines are then kept whole, however long,
   * and passed on through {@linkcode StreamPart.line}'s result); absent for a part that never
   * does.
   */
  readonly rewrites?: boolean;
  /**
   * Reads one line of a stream (without its line ending), received at `now`
   * (`performance.now()`). Returns nothing to pass the line on, other bytes to send in its place
   * (its line ending is kept), or `null` to drop it with its line ending. Only a part that
   * `rewrites` may return anything.
   */
  line(line: Uint8Array, now: number): Uint8Array | null | void;
  /**
   * Reads a body that is one JSON object (a non-streamed answer), as text; `truncated` when only
   * its tail was kept (a 60 MB embedding), in which case the part reads what it can from the tail.
   */
  object(text: string, truncated: boolean): void;
}

/** Decodes whole lines only (no streaming state), so one decoder serves every stream. */
const decoder = new TextDecoder();
/** How much of a line is kept when nothing is passed on through the part. */
const MAX_LINE = 1 << 20;
const CRLF = new Uint8Array([0x0d, 0x0a]);
const LF = CRLF.subarray(1);

/** Feeds a response body, line by line, to a family's part and finishes the request's record. */
export class StreamObserver implements BodyObserver {
  #observation: RequestObservation;
  #part: StreamPart;
  #status: number;
  #streaming: boolean;
  #splitter: ByteLineSplitter;
  #now = 0;
  /** The bytes to send for the chunk being observed, when the part rewrites. */
  #out: Uint8Array[] | null = null;
  /** Whether every line of the chunk being observed went on as it came. */
  #unchanged = true;

  /**
   * Creates an observer for one response body.
   *
   * @param observation the request's record.
   * @param part the family's part.
   * @param options `status` sent to the client; `streaming` for a stream of lines (NDJSON or SSE),
   * otherwise the body is one JSON object.
   */
  constructor(
    observation: RequestObservation,
    part: StreamPart,
    options: { status: number; streaming: boolean },
  ) {
    this.#observation = observation;
    this.#part = part;
    this.#status = options.status;
    this.#streaming = options.streaming;
    const rewrites = options.streaming && part.rewrites === true;
    this.#splitter = rewrites
      ? new ByteLineSplitter((raw) => this.#rewrite(raw), {
        keepLineEnding: true,
        maxLineBytes: Infinity,
      })
      : new ByteLineSplitter((line, info) => this.#read(line, info.truncated), {
        maxLineBytes: MAX_LINE,
      });
    if (rewrites) this.#out = [];
  }

  /**
   * Reads the lines `bytes` completes; when the part rewrites, returns the bytes to send instead
   * if any were held back or changed. `now` is `performance.now()`, in milliseconds.
   */
  chunk(bytes: Uint8Array, now: number): Uint8Array | void {
    this.#now = now;
    const out = this.#out;
    if (out === null) {
      this.#splitter.push(bytes);
      return;
    }
    // The chunk goes on as it is when nothing was held back before or after it and every line
    // was kept.
    out.length = 0;
    this.#unchanged = this.#splitter.pendingBytes === 0;
    this.#splitter.push(bytes);
    if (this.#splitter.pendingBytes > 0) this.#unchanged = false;
    if (!this.#unchanged) return concatBytes(out);
  }

  /**
   * Reads the last line and finishes the record; a 2xx stream that did not reach its proper end
   * is recorded as a `stream_error`. Returns the bytes still to send, when the part rewrites.
   */
  end(now: number): Uint8Array | void {
    this.#now = now;
    const out = this.#out;
    if (out) out.length = 0;
    this.#splitter.flush();
    if (this.#streaming && !this.#part.complete && this.#status >= 200 && this.#status < 300) {
      this.#observation.fail("stream_error");
    }
    this.#observation.finish(this.#status, now);
    if (out) return concatBytes(out);
  }

  /** Records `client_disconnect`, or why reading from Ollama failed, and finishes the record. */
  abort(reason: unknown, now: number, options: { byClient: boolean }): void {
    this.#observation.abort(reason, { byClient: options.byClient, code: this.#status, now });
  }

  #read(line: Uint8Array, truncated: boolean): void {
    if (this.#streaming) {
      this.#part.line(line, this.#now);
    } else if (line.length > 0) {
      this.#part.object(decoder.decode(line), truncated);
    }
  }

  #rewrite(raw: Uint8Array): void {
    let end = raw.length;
    if (end > 0 && raw[end - 1] === 0x0a) end -= end > 1 && raw[end - 2] === 0x0d ? 2 : 1;
    const kept = this.#part.line(raw.subarray(0, end), this.#now);
    if (kept === undefined) {
      this.#out!.push(raw);
      return;
    }
    this.#unchanged = false;
    if (kept === null) return;
    this.#out!.push(kept);
    if (end < raw.length) this.#out!.push(raw.length - end === 2 ? CRLF : LF);
  }
}
