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
}

/** A route handler. */
export type RouteHandler = (
  request: Request,
  context: RouteContext,
) => Response | Promise<Response>;
