/**
 * Ollama v0.24's scheduler (`server/sched.go`) and its runners' parallel slots, as far as a client
 * can tell them apart: which requests wait, in what order, for how long, and which get 503.
 *
 * - A request for a model that is loaded with the context length it asks for takes the model at
 *   once (`GetRunner` hands a loaded runner over without queueing), then waits for one of its
 *   parallel slots (`numParallel`, first come first served) without any limit.
 * - Any other request (model not loaded, or loaded with another `num_ctx`) enters the scheduler's
 *   queue, which holds at most `maxQueue` requests: one more is refused at once with 503
 *   `server busy, please try again.  maximum pending requests exceeded`. The scheduler takes
 *   them one at a time: it loads the model (`loadDelayMs`), or, for a reload, first waits until
 *   every request using the model has ended (requests that need no reload keep joining it
 *   meanwhile, as in Ollama). A request whose client left stays in the queue until its turn.
 *
 * Measured on the real v0.24 with `OLLAMA_NUM_PARALLEL=1 OLLAMA_MAX_QUEUE=1`: four concurrent
 * requests for a loaded model all succeeded, one after another (no 503); thirteen requests sent
 * while the model loaded: two succeeded, eleven got 503 on every API family; a request with
 * another `num_ctx` waited for the model's running requests, its wait in `load_duration`, while
 * a request waiting for a slot has it in `total_duration` only.
 *
 * @module
 */

import { abortableSleep } from "./abortable_sleep.ts";
import type { ModelRecord } from "./describe_model.ts";
import type { LoadedModels } from "./loaded_models.ts";
import type { ResolvedOptions } from "./simulator_options.ts";
import { SlotQueue } from "./slot_queue.ts";

/** Ollama's error text when its scheduler queue is full. */
export const SERVER_BUSY_MESSAGE =
  "server busy, please try again.  maximum pending requests exceeded";

/** What a request needs from the scheduler. */
export interface AdmissionAsk {
  /** The installed model. */
  readonly record: ModelRecord;
  /** The context length it needs the model loaded with. */
  readonly contextLength: number;
  /** `keep_alive` as sent. */
  readonly keepAlive: unknown;
  /**
   * Whether it runs on the model (a generation or an embedding) and so takes a parallel slot;
   * false for a request that only loads the model.
   */
  readonly slot: boolean;
}

/** The request around an {@link AdmissionAsk}. */
export interface AdmissionRequest {
  /** Configuration as it was when the request arrived. */
  readonly options: ResolvedOptions;
  /** The simulator's clock, ms; waits are measured with it. */
  readonly clock: () => number;
  /** When the request arrived, by `clock`. */
  readonly receivedAt: number;
  /** Aborts when the client leaves or the simulator closes; read only when the request waits. */
  readonly signal: () => AbortSignal;
  /** Resolves once the response is over: the request then frees its slot and the model. */
  readonly finished: Promise<void>;
}

/** How a request got through the scheduler. */
export type Admission =
  | {
    readonly kind: "admitted";
    /** Time in the scheduler's queue, loads and reloads included, ns (`load_duration` too). */
    readonly loadWaitNs: number;
    /** Time waiting for a parallel slot, ns. */
    readonly slotWaitNs: number;
  }
  /** The scheduler's queue was full: 503 {@link SERVER_BUSY_MESSAGE}. */
  | { readonly kind: "busy" }
  /** The client left, or the simulator closed, while the request waited. */
  | { readonly kind: "gone" };

interface Pending {
  readonly ask: AdmissionAsk;
  readonly request: AdmissionRequest;
  gone: boolean;
  readonly settle: (outcome: "ready" | "gone") => void;
}

/** Decides when each generation or embedding may run. */
export class Scheduler {
  #loaded: LoadedModels;
  #closing: AbortSignal;
  #pending: Pending[] = [];
  #draining = false;
  #working = false;
  /** Requests using each model (Ollama's runner `refCount`), slot waiters included. */
  #users = new Map<string, number>();
  #idle = new Map<string, (() => void)[]>();
  #slots = new Map<string, SlotQueue>();

  /**
   * Creates an idle scheduler over `loaded`.
   *
   * @param loaded the loaded models (shared with /api/ps).
   * @param options `closing` aborts every wait when the simulator closes.
   */
  constructor(loaded: LoadedModels, options: { readonly closing: AbortSignal }) {
    this.#loaded = loaded;
    this.#closing = options.closing;
  }

  /** Requests in the scheduler's queue, not yet taken up (those whose client left included). */
  get pending(): number {
    return this.#pending.length;
  }

  /** True while the scheduler works on a request: loading its model, or waiting to reload it. */
  get busy(): boolean {
    return this.#working;
  }

  /** Requests waiting for a parallel slot, over every model. */
  get waiting(): number {
    let count = 0;
    for (const slots of this.#slots.values()) count += slots.waiting;
    return count;
  }

  /** Lets `ask` run when Ollama would, or says why not. */
  async admit(ask: AdmissionAsk, request: AdmissionRequest): Promise<Admission> {
    const name = ask.record.name;
    let loadWaitNs = 0;
    if (this.#loaded.contextLength(name, request.clock()) === ask.contextLength) {
      this.#use(ask, request, request.receivedAt);
    } else {
      // Ollama's queue is a channel of `maxQueue` places that an idle scheduler empties at once.
      if (this.#draining && this.#pending.length >= request.options.maxQueue) {
        return { kind: "busy" };
      }
      const outcome = await this.#enqueue(ask, request);
      if (outcome === "gone") return { kind: "gone" };
      // A load that kept nobody waiting (no load time, an idle scheduler) adds nothing.
      if (outcome === "ready") loadWaitNs = nanoseconds(request.clock() - request.receivedAt);
    }
    if (!ask.slot) return { kind: "admitted", loadWaitNs, slotWaitNs: 0 };
    let slots = this.#slots.get(name);
    if (slots === undefined) this.#slots.set(name, slots = new SlotQueue());
    const capacity = slotsOf(ask.record, request.options.numParallel);
    const start = request.clock();
    const taken = slots.acquire(capacity, { signal: request.signal });
    if (taken !== true && !await taken) return { kind: "gone" };
    const held = slots;
    request.finished.then(() => held.release());
    const slotWaitNs = taken === true ? 0 : nanoseconds(request.clock() - start);
    return { kind: "admitted", loadWaitNs, slotWaitNs };
  }

  /**
   * Queues `ask`; resolves once the scheduler handed it the model (`ready-now` when that took no
   * time at all), or its client left.
   */
  #enqueue(ask: AdmissionAsk, request: AdmissionRequest): Promise<"ready-now" | "ready" | "gone"> {
    return new Promise((resolve) => {
      let signal: AbortSignal | undefined = undefined;
      let settled = false;
      let waiting = false;
      const settle = (outcome: "ready" | "gone"): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        resolve(outcome === "ready" && !waiting ? "ready-now" : outcome);
      };
      const onAbort = (): void => {
        entry.gone = true;
        settle("gone");
      };
      const entry: Pending = { ask, request, gone: false, settle };
      this.#pending.push(entry);
      void this.#drain();
      if (settled) return;
      waiting = true;
      signal = request.signal();
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Takes queued requests one at a time, as Ollama's `processPending` loop. */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let entry = this.#pending.shift(); entry !== undefined; entry = this.#pending.shift()) {
        if (entry.gone) continue;
        this.#working = true;
        await this.#schedule(entry);
        this.#working = false;
      }
    } finally {
      this.#draining = false;
      this.#working = false;
    }
  }

  async #schedule(entry: Pending): Promise<void> {
    const { ask, request } = entry;
    const name = ask.record.name;
    for (;;) {
      const loaded = this.#loaded.contextLength(name, request.clock());
      if (loaded === ask.contextLength) break;
      if (loaded !== undefined) {
        // A reload: wait until every request using the model has ended, then unload it.
        if (!await this.#whenIdle(name)) return entry.settle("gone");
        this.#loaded.unload(name);
        continue;
      }
      const delayMs = request.options.fast ? 0 : request.options.loadDelayMs;
      if (delayMs > 0 && !await abortableSleep(delayMs, this.#closing)) {
        return entry.settle("gone");
      }
      this.#loaded.touch(ask.record, {
        keepAlive: ask.keepAlive,
        now: request.clock(),
        contextLength: ask.contextLength,
      });
      break;
    }
    if (entry.gone) return;
    this.#use(ask, request, request.clock());
    entry.settle("ready");
  }

  /** The request takes the model: it counts as a user until its response is over. */
  #use(ask: AdmissionAsk, request: AdmissionRequest, now: number): void {
    const name = ask.record.name;
    this.#loaded.touch(ask.record, {
      keepAlive: ask.keepAlive,
      now,
      contextLength: ask.contextLength,
    });
    this.#users.set(name, (this.#users.get(name) ?? 0) + 1);
    request.finished.then(() => this.#leave(name));
  }

  #leave(name: string): void {
    const count = (this.#users.get(name) ?? 0) - 1;
    if (count > 0) {
      this.#users.set(name, count);
      return;
    }
    this.#users.delete(name);
    const waiters = this.#idle.get(name) ?? [];
    this.#idle.delete(name);
    for (const wake of waiters) wake();
  }

  /** Resolves true once no request uses the model named `name`, false if the simulator closes. */
  #whenIdle(name: string): Promise<boolean> {
    if (!this.#users.has(name)) return Promise.resolve(true);
    if (this.#closing.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onClose = (): void => resolve(false);
      this.#closing.addEventListener("abort", onClose, { once: true });
      const waiters = this.#idle.get(name) ?? [];
      waiters.push(() => {
        this.#closing.removeEventListener("abort", onClose);
        resolve(true);
      });
      this.#idle.set(name, waiters);
    });
  }
}

/**
 * Parallel slots of a loaded model: `numParallel`, but 1 for a model that cannot generate
 * (Ollama loads embedding models with parallel 1) once a limit is set at all.
 */
function slotsOf(record: ModelRecord, numParallel: number): number {
  if (numParallel === Infinity) return Infinity;
  return record.capabilities.includes("completion") ? numParallel : 1;
}

function nanoseconds(ms: number): number {
  return Math.max(0, Math.round(ms * 1e6));
}
