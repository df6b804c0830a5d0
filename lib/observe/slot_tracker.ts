/**
 * An estimate of the requests waiting inside Ollama for a parallel slot. Ollama serves at most
 * `OLLAMA_NUM_PARALLEL` requests per loaded model at once and queues the rest; it does not say how
 * many wait. The exporter sees every request that occupies a slot (generations and embeddings) from
 * arrival to the last byte, so with the operator telling it the parallelism, the requests in
 * flight per model beyond it are the ones waiting: `ollama_requests_waiting`. Ollama runs an
 * embedding model one request at a time whatever the setting, so a model used on an embedding
 * endpoint has one slot. (A load-only request, with an empty prompt, takes no slot but is counted:
 * the body is not read for it.)
 *
 * @module
 */

import type { Gauge } from "../metrics/gauge.ts";
import { endpointOperation } from "../endpoint_operation.ts";

/** Counts the slot-taking requests in flight per model and sets the waiting gauge. */
export class SlotTracker {
  #gauge: Gauge;
  #parallel: number;
  #inFlight = new Map<string, number>();
  /** The models seen on an embedding endpoint: one slot each. */
  #embedding = new Set<string>();

  /**
   * Creates a tracker with no request in flight.
   *
   * @param gauge `ollama_requests_waiting` {model}.
   * @param options `parallel` is Ollama's parallel requests per model (`OLLAMA_NUM_PARALLEL`).
   */
  constructor(gauge: Gauge, options: { parallel: number }) {
    this.#gauge = gauge;
    this.#parallel = options.parallel;
  }

  /** A request for the model labelled `model` started on `endpoint` (one that runs a model). */
  enter(model: string, endpoint: string): void {
    if (endpointOperation(endpoint) === "embeddings") this.#embedding.add(model);
    this.#set(model, (this.#inFlight.get(model) ?? 0) + 1);
  }

  /** A request for the model labelled `model` ended. */
  leave(model: string): void {
    this.#set(model, (this.#inFlight.get(model) ?? 0) - 1);
  }

  #set(model: string, count: number): void {
    if (count <= 0) this.#inFlight.delete(model);
    else this.#inFlight.set(model, count);
    const slots = this.#embedding.has(model) ? 1 : this.#parallel;
    this.#gauge.labels(model).set(Math.max(0, count - slots));
  }
}
