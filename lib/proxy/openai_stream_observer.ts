/**
 * Observes a response of Ollama's OpenAI-compatible API (`/v1/chat/completions`,
 * `/v1/completions`, `/v1/embeddings`): a Server-Sent Events stream, or one JSON object.
 *
 * When the proxy added `stream_options.include_usage` to the client's request (so that token
 * counts are known), it also takes out of the stream what that option added, so the client gets
 * exactly the stream it asked for: the usage-only chunk (`"choices":[]`) with its blank line, and
 * the `usage` member `/v1/completions` puts in every chunk.
 *
 * @module
 */

import { statsFromTail, statsFromUsage } from "./generation_stats.ts";
import type { RequestObservation } from "./request_observation.ts";
import type { BodyObserver } from "../streams/tap_body.ts";
import { endsWith, startsWith } from "../streams/byte_match.ts";
import { ByteLineSplitter } from "../streams/byte_line_splitter.ts";
import { concatBytes } from "../streams/concat_bytes.ts";

/** Decodes whole lines only (no streaming state), so one decoder serves every stream. */
const decoder = new TextDecoder();

const encoder = new TextEncoder();
/** The end of an ordinary chat chunk line, recognised without decoding it. */
const ORDINARY_CHAT_END = encoder.encode('"finish_reason":null}]}\n');
const DATA_PREFIX = encoder.encode("data: ");
const MAX_LINE = 1 << 20;

/** Feeds an OpenAI-style response into a request's observation; optionally strips usage. */
export class OpenAiStreamObserver implements BodyObserver {
  #observation: RequestObservation;
  #status: number;
  #streaming: boolean;
  #stripUsage: boolean;
  #splitter: ByteLineSplitter;
  /** The bytes to send for the chunk being observed, when stripping. */
  #out: Uint8Array[] | null = null;
  /** Whether every line of the chunk being observed went on as it came. */
  #unchanged = true;
  #now = 0;
  #sawDone = false;
  #dropBlank = false;

  /**
   * Creates an observer for one response body.
   *
   * @param observation the request's record.
   * @param options `status` sent to the client; `streaming` for an SSE body; `stripUsage` when
   * the proxy injected `include_usage` and must remove what it added.
   */
  constructor(
    observation: RequestObservation,
    options: { status: number; streaming: boolean; stripUsage?: boolean },
  ) {
    this.#observation = observation;
    this.#status = options.status;
    this.#streaming = options.streaming;
    this.#stripUsage = options.streaming && (options.stripUsage ?? false);
    this.#splitter = new ByteLineSplitter((raw, info) => this.#pass(raw, info.truncated), {
      keepLineEnding: true,
      // Stripping must send on every byte; otherwise only the tail of a huge body is needed.
      maxLineBytes: this.#stripUsage ? Infinity : MAX_LINE,
    });
  }

  /**
   * Reads the lines `bytes` completes (output chunks, usage, errors); when stripping usage,
   * returns the bytes to send instead if any were held back or removed. `now` is
   * `performance.now()`, in milliseconds.
   */
  chunk(bytes: Uint8Array, now: number): Uint8Array | void {
    this.#now = now;
    // The chunk can go on as it is when nothing was held back before or after it and every line
    // was kept.
    this.#unchanged = this.#splitter.pendingBytes === 0;
    this.#out = this.#stripUsage ? [] : null;
    this.#splitter.push(bytes);
    if (this.#splitter.pendingBytes > 0) this.#unchanged = false;
    if (this.#out && !this.#unchanged) return concatBytes(this.#out);
  }

  /**
   * Reads the last line and finishes the record; a 200 stream without `data: [DONE]` is recorded
   * as a `stream_error`. When stripping usage, returns the bytes still to send.
   */
  end(now: number): Uint8Array | void {
    this.#now = now;
    this.#out = this.#stripUsage ? [] : null;
    this.#splitter.flush();
    if (this.#streaming && !this.#sawDone && this.#status === 200) {
      this.#observation.fail("stream_error");
    }
    this.#observation.finish(this.#status, now);
    if (this.#out) return concatBytes(this.#out);
  }

  /**
   * Records `client_disconnect`, or why reading from Ollama failed, and finishes the record.
   */
  abort(reason: unknown, now: number, options: { byClient: boolean }): void {
    this.#observation.abort(reason, { byClient: options.byClient, code: this.#status, now });
  }

  #pass(raw: Uint8Array, truncated: boolean): void {
    const kept = this.#line(raw, truncated);
    if (kept !== raw) this.#unchanged = false;
    if (this.#out && kept) this.#out.push(kept);
  }

  /** Observes one raw line (with its line feed); returns the bytes to send on for it. */
  #line(raw: Uint8Array, truncated: boolean): Uint8Array | null {
    if (
      this.#streaming && !this.#dropBlank && endsWith(raw, ORDINARY_CHAT_END) &&
      startsWith(raw, DATA_PREFIX)
    ) {
      // An ordinary chat chunk carrying output (the common case): no need to decode it.
      this.#observation.output(this.#now);
      return raw;
    }
    let text = decoder.decode(raw);
    const ending = text.endsWith("\r\n") ? 2 : text.endsWith("\n") ? 1 : 0;
    text = text.slice(0, text.length - ending);
    if (!this.#streaming) {
      this.#object(text, truncated);
      return raw;
    }
    if (text === "") {
      if (this.#dropBlank) {
        this.#dropBlank = false;
        return null;
      }
      return raw;
    }
    this.#dropBlank = false;
    if (!text.startsWith("data:")) return raw;
    const payload = text.slice(text[5] === " " ? 6 : 5);
    if (payload === "[DONE]") {
      this.#sawDone = true;
      return raw;
    }
    if (payload.includes('"finish_reason":null') && !payload.includes('"usage"')) {
      // An ordinary chunk carrying output: recognised without parsing it.
      this.#observation.output(this.#now);
      return raw;
    }
    return this.#special(raw, text, payload, ending);
  }

  /** A chunk that ends a choice, carries usage, or reports an error. */
  #special(raw: Uint8Array, text: string, payload: string, ending: number): Uint8Array | null {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(payload);
    } catch {
      if (this.#status === 200) this.#observation.fail("stream_error");
      return raw;
    }
    if (record.error !== undefined) {
      if (this.#status === 200) this.#observation.fail("stream_error");
      this.#sawDone = true;
      return raw;
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
    if (choices.length > 0 && hasOutput(choices[0])) this.#observation.output(this.#now);
    if (!this.#stripUsage) return raw;
    if (choices.length === 0) {
      this.#dropBlank = true;
      return null;
    }
    const stripped = text.replace(/,"usage":\{[^{}]*\}/, "");
    return stripped === text ? raw : encoder.encode(stripped + (ending === 2 ? "\r\n" : "\n"));
  }

  #object(text: string, truncated: boolean): void {
    if (text === "") return;
    if (truncated) {
      this.#observation.stats(statsFromTail(text));
      return;
    }
    try {
      const record = JSON.parse(text) as Record<string, unknown>;
      if (record.usage !== undefined) this.#observation.stats(statsFromUsage(record.usage));
    } catch {
      // Not JSON (an error page from something in front of Ollama): passed on untouched.
    }
  }
}

function hasOutput(choice: unknown): boolean {
  if (typeof choice !== "object" || choice === null) return false;
  const record = choice as { delta?: { content?: unknown }; text?: unknown };
  const content = record.delta?.content ?? record.text;
  return typeof content === "string" && content !== "";
}
