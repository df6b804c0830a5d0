/**
 * The observer of a body the exporter does not read for numbers (error answers, pass-through
 * endpoints, compressed bodies): it only ends the request's record, when the body has gone out
 * whole, or as a disconnect or a stream error when it did not.
 *
 * @module
 */

import type { BodyObserver } from "../streams/tap_body.ts";
import type { RequestObservation } from "./request_observation.ts";
import { bodyFailureReason } from "./upstream_failure.ts";

/** Ends a request's record when its unobserved body ends. */
export class PassThroughObserver implements BodyObserver {
  #observation: RequestObservation;
  #status: number;

  /** @param observation the request's record; `options.status` the status sent to the client. */
  constructor(observation: RequestObservation, options: { status: number }) {
    this.#observation = observation;
    this.#status = options.status;
  }

  /** @inheritdoc */
  chunk(): void {}

  /** @inheritdoc */
  end(now: number): void {
    this.#observation.finish(this.#status, now);
  }

  /** @inheritdoc */
  abort(reason: unknown, now: number, options: { byClient: boolean }): void {
    this.#observation.fail(options.byClient ? "client_disconnect" : bodyFailureReason(reason));
    this.#observation.finish(this.#status, now);
  }
}
