/**
 * One table of routes. The exporter's own paths answer GET and HEAD; the observed Ollama
 * endpoints answer their method; everything else falls through to the pass-through proxy.
 *
 * @module
 */

import type { RouteContext, RouteHandler } from "./routes/route.ts";

/** One row of the table. */
export interface RouteEntry {
  /** The exact URL pathname, e.g. `/metrics`; query strings are not part of it. */
  readonly path: string;
  /** The HTTP methods this row answers, e.g. `["GET", "HEAD"]`. */
  readonly methods: readonly string[];
  /** Handles a request whose path and method match. */
  readonly handler: RouteHandler;
}

/** Dispatches requests by exact path and method, with a fallback for everything else. */
export class Router {
  #routes = new Map<string, RouteEntry[]>();
  #fallback: RouteHandler;

  /**
   * Builds the lookup table; rows for the same path are tried in order.
   *
   * @param routes the table.
   * @param options `fallback` handles what matches no row.
   */
  constructor(routes: readonly RouteEntry[], options: { fallback: RouteHandler }) {
    for (const route of routes) {
      const list = this.#routes.get(route.path) ?? [];
      list.push(route);
      this.#routes.set(route.path, list);
    }
    this.#fallback = options.fallback;
  }

  /** Handles one request. */
  handle(request: Request, context: RouteContext): Response | Promise<Response> {
    const rows = this.#routes.get(context.url.pathname);
    if (rows) {
      for (const row of rows) {
        if (row.methods.includes(request.method)) return row.handler(request, context);
      }
    }
    return this.#fallback(request, context);
  }
}
