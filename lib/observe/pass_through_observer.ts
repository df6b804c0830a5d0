/**
 * The observer of a body the exporter does not read for numbers (error answers, pass-through
 * endpoints, compressed bodies): it only ends the request's record, when the body has gone out
 * whole, or as a disconnect or a stream error when it did not.
 *
 * @module
 */

import type { BodyObserver } from "../streams/tap_body.ts";
import type { RequestObservation } from "./request_observation.ts";

/** Ends a request's record when its unobserved body ends. */
export class PassThroughObserver implements BodyObserver {
  #observation: RequestObservation;
  #status: number;

  /**
   * Creates an observer for one response body.
   *
   * @param observation the request's record; `options.status` the status sent to the client.
   */
  constructor(observation: RequestObservation, options: { status: number }) {
    this.#observation = observation;
    this.#status = options.status;
  }

  /** Does nothing: the body is not read. */
  chunk(): void {}

  /** Finishes the record with the status sent; `now` is `performance.now()`, in milliseconds. */
  end(now: number): void {
    this.#observation.finish(this.#status, now);
  }

  /**
   * Records `client_disconnect`, or why reading from Ollama failed, and finishes the record.
   */
  abort(reason: unknown, now: number, options: { byClient: boolean }): void {
    this.#observation.abort(reason, { byClient: options.byClient, code: this.#status, now });
  }
}
