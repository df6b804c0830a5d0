/**
 * The error the HTTP/1.1 client throws when a time limit ran out.
 *
 * @module
 */

/** Where in an exchange a time limit ran out. */
export type TimeoutPhase = "connect" | "head" | "idle";

/** Thrown when the server took longer than allowed; the connection has been closed. */
export class Http1TimeoutError extends Error {
  /** Which limit ran out: opening the connection, the response head, or a pause in the body. */
  readonly phase: TimeoutPhase;

  /**
   * Creates the error; its message gives the limit in seconds.
   *
   * @param phase which limit; `options.ms` the limit in milliseconds.
   */
  constructor(phase: TimeoutPhase, options: { ms: number }) {
    const what = phase === "connect"
      ? "no connection"
      : phase === "head"
      ? "no response head"
      : "nothing was sent or received";
    super(`Timed out: ${what} within ${options.ms / 1000} s`);
    this.name = "Http1TimeoutError";
    this.phase = phase;
  }
}
