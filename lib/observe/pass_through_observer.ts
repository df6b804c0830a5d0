/**
 * The observer of a body the exporter does not read for numbers (error answers, pass-through
 * endpoints, compressed bodies): it only ends the request's record, when the body has gone out
 * whole, or as a disconnect or a stream error when it did not. Every answer with an error status
 * comes through it, and it is the one place that records why: `upstream_error`, but for a 503
 * whose first bytes say `server busy, please try again.  maximum pending requests exceeded`
 * (Ollama's queue, `OLLAMA_MAX_QUEUE`, is full): `server_busy`.
 *
 * @module
 */

import type { BodyObserver } from "../streams/tap_body.ts";
import type { RequestObservation } from "./request_observation.ts";

/** Ends a request's record when its unobserved body ends. */
export class PassThroughObserver implements BodyObserver {
  #observation: RequestObservation;
  #status: number;
  /** The first bytes of a 503's body, as text. */
  #head = "";

  /**
   * Creates an observer for one response body.
   *
   * @param observation the request's record; `options.status` the status sent to the client.
   */
  constructor(observation: RequestObservation, options: { status: number }) {
    this.#observation = observation;
    this.#status = options.status;
    // A 503's reason waits for its body; any other error status is Ollama's error.
    if (options.status >= 400 && options.status !== 503) observation.fail("upstream_error");
  }

  /** Does nothing, but for the first bytes of a 503: the body is not read. */
  chunk(bytes: Uint8Array): void {
    if (this.#status === 503 && this.#head.length < HEAD_BYTES) {
      this.#head += decoder.decode(bytes.subarray(0, HEAD_BYTES));
    }
  }

  /** Finishes the record with the status sent; `now` is `performance.now()`, in milliseconds. */
  end(now: number): void {
    this.#classify503();
    this.#observation.finish(this.#status, now);
  }

  #classify503(): void {
    if (this.#status !== 503) return;
    this.#observation.fail(this.#head.includes("server busy") ? "server_busy" : "upstream_error");
  }

  /**
   * Records `client_disconnect`, or why reading from Ollama failed, and finishes the record.
   */
  abort(reason: unknown, now: number, options: { byClient: boolean }): void {
    this.#classify503();
    this.#observation.abort(reason, { byClient: options.byClient, code: this.#status, now });
  }
}

/** How much of a 503's body is read to recognise Ollama's full queue. */
const HEAD_BYTES = 512;
const decoder = new TextDecoder();
