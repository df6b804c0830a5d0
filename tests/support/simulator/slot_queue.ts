/**
 * The parallel slots of one loaded model: a first-in, first-out semaphore, like the
 * `semaphore.Weighted` Ollama's runner client takes before each completion or embedding.
 *
 * @module
 */

interface Waiter {
  readonly capacity: number;
  readonly resolve: (acquired: boolean) => void;
}

/** Slots in use and the requests waiting for one, in arrival order. */
export class SlotQueue {
  #busy = 0;
  #waiters: Waiter[] = [];

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /**
   * Takes a slot: at once (`true`) when fewer than `capacity` are in use and nobody waits, else
   * after the requests ahead; the promise resolves `false` instead when `options.signal()` (read
   * only when the request has to wait) aborts first, and the request leaves the line.
   */
  acquire(
    capacity: number,
    options: { readonly signal: () => AbortSignal },
  ): true | Promise<boolean> {
    if (this.#busy < capacity && this.#waiters.length === 0) {
      this.#busy++;
      return true;
    }
    const signal = options.signal();
    if (signal.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index < 0) return;
        this.#waiters.splice(index, 1);
        resolve(false);
        this.#wake();
      };
      const waiter: Waiter = {
        capacity,
        resolve: (acquired) => {
          signal.removeEventListener("abort", onAbort);
          resolve(acquired);
        },
      };
      this.#waiters.push(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Gives a slot back; the first waiting request takes it. */
  release(): void {
    this.#busy--;
    this.#wake();
  }

  #wake(): void {
    for (let first = this.#waiters[0]; first !== undefined; first = this.#waiters[0]) {
      if (this.#busy >= first.capacity) return;
      this.#waiters.shift();
      this.#busy++;
      first.resolve(true);
    }
  }
}
