/**
 * What the simulator remembers about each request it received.
 *
 * @module
 */

/** One request as the simulator saw it, and how its response went. */
export class RecordedRequest {
  /** HTTP method. */
  readonly method: string;
  /** URL path, e.g. `/api/chat`. */
  readonly path: string;
  /** URL query string including `?`, or "". */
  readonly query: string;
  /** Request headers (a copy). */
  readonly headers: Headers;
  /** Request body decoded as UTF-8. */
  readonly body: string;
  /** Request body size in bytes. */
  readonly bodyBytes: number;
  /** Arrival time, ms since the epoch. */
  readonly receivedAt: number;
  /** Resolves once the simulator stopped writing the response (completed, aborted or closed). */
  readonly finished: Promise<void>;
  #status = 0;
  #aborted = false;
  #completed = false;
  #bytesSent = 0;
  #admitted = false;
  #loadWaitNs = 0;
  #slotWaitNs = 0;
  #resolve: () => void = () => {};

  /** Records a request; the response fields are filled in as it is answered. */
  constructor(
    init: {
      method: string;
      path: string;
      query: string;
      headers: Headers;
      body: string;
      bodyBytes: number;
      receivedAt: number;
    },
  ) {
    this.method = init.method;
    this.path = init.path;
    this.query = init.query;
    this.headers = init.headers;
    this.body = init.body;
    this.bodyBytes = init.bodyBytes;
    this.receivedAt = init.receivedAt;
    this.finished = new Promise((resolve) => this.#resolve = resolve);
  }

  /** Response status once headers were produced, 0 before. */
  get status(): number {
    return this.#status;
  }

  /** True when the client went away (cancelled the body or disconnected) before the end. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** True when the whole response body was written. */
  get completed(): boolean {
    return this.#completed;
  }

  /** Response body bytes handed to the HTTP layer so far (it stops growing once aborted). */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /**
   * True once the scheduler let the request run: it holds its model and a parallel slot (a
   * generation or embedding), or its model is loaded (a load-only request).
   */
  get admitted(): boolean {
    return this.#admitted;
  }

  /**
   * Time the request spent in the scheduler (its queue, a model load or reload), ns by the
   * simulator's clock: added to the `load_duration` and `total_duration` it reports.
   */
  get loadWaitNs(): number {
    return this.#loadWaitNs;
  }

  /** Time it waited for a parallel slot, ns by the simulator's clock: in `total_duration` only. */
  get slotWaitNs(): number {
    return this.#slotWaitNs;
  }

  /** The body parsed as JSON (throws with the path when it is not JSON). */
  json<T = Record<string, unknown>>(): T {
    try {
      return JSON.parse(this.body) as T;
    } catch (error) {
      throw new Error(`Cannot parse the body of ${this.method} ${this.path} as JSON: ${error}`);
    }
  }

  /** Internal: the response headers were produced with `status`. */
  markResponded(status: number): void {
    this.#status = status;
  }

  /** Internal: the scheduler let the request run after these waits. */
  markWaited(waits: { readonly loadWaitNs: number; readonly slotWaitNs: number }): void {
    this.#admitted = true;
    this.#loadWaitNs = waits.loadWaitNs;
    this.#slotWaitNs = waits.slotWaitNs;
  }

  /** Internal: `count` more body bytes were written. */
  markSent(count: number): void {
    this.#bytesSent += count;
  }

  /** Internal: the client went away; production stopped. */
  markAborted(): void {
    this.#aborted = true;
    this.#resolve();
  }

  /** Internal: the body ended (`complete` false when cut short by close). */
  markEnded(complete: boolean): void {
    this.#completed = complete;
    this.#resolve();
  }
}
