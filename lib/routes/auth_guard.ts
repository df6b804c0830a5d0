/**
 * Wraps a route so that it answers only requests with a valid `Authorization: Bearer` key;
 * others get 401 in the error shape of the API they called (Ollama's or OpenAI's), with a
 * `WWW-Authenticate` header. The key itself is never logged or exported.
 *
 * @module
 */

import type { ApiKeys } from "../api_keys.ts";
import { errorBody, errorShapeOf } from "../proxy/upstream_failure.ts";
import type { RouteHandler } from "./route.ts";

/** Options of {@linkcode authGuard}. */
export interface AuthGuardOptions {
  /** The accepted keys. */
  readonly keys: ApiKeys;
  /** Called with the name of the key each accepted request carried. */
  readonly onAccepted?: (request: Request, name: string) => void;
  /** Called for each rejected request. */
  readonly onRejected?: (request: Request, url: URL) => void;
  /**
   * The error messages: `missing` when the request has no `Authorization` header, `invalid` when
   * its key is not accepted. By default they speak of an API key; `/metrics` names its token.
   */
  readonly messages?: { readonly missing: string; readonly invalid: string };
}

const API_KEY_MESSAGES = {
  missing: "unauthorized: send an API key as Authorization: Bearer <key>",
  invalid: "unauthorized: the API key is not valid",
};

/** Returns `route` guarded by `options.keys`. */
export function authGuard(route: RouteHandler, options: AuthGuardOptions): RouteHandler {
  const messages = options.messages ?? API_KEY_MESSAGES;
  return (request, context) => {
    const name = options.keys.identify(request.headers.get("authorization"));
    if (name === null) {
      options.onRejected?.(request, context.url);
      const shape = errorShapeOf(context.url.pathname);
      const message = request.headers.has("authorization") ? messages.invalid : messages.missing;
      return new Response(
        errorBody(message, { shape, status: 401, code: "invalid_api_key" }) +
          "\n",
        {
          status: 401,
          headers: {
            "content-type": "application/json; charset=utf-8",
            "www-authenticate": 'Bearer realm="ollama-exporter"',
          },
        },
      );
    }
    options.onAccepted?.(request, name);
    return route(request, context);
  };
}
