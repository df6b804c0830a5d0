/**
 * The shape shared by every route module.
 *
 * @module
 */

/** What a route gets besides the request. */
export interface RouteContext {
  /** The parsed request URL. */
  readonly url: URL;
  /** `performance.now()` when the request arrived. */
  readonly start: number;
  /** Settles when the response has been sent (rejects when it could not be). */
  readonly completed: Promise<void>;
}

/** A route handler. */
export type RouteHandler = (
  request: Request,
  context: RouteContext,
) => Response | Promise<Response>;
