/**
 * The shape shared by every route module.
 *
 * @module
 */

import type { RouteContext } from "../proxy/proxy_context.ts";

export type { RouteContext };

/** A route handler. */
export type RouteHandler = (
  request: Request,
  context: RouteContext,
) => Response | Promise<Response>;
