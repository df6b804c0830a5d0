/**
 * Error responses of the Anthropic-compatible endpoint.
 *
 * @module
 */

import { EVENT_STREAM_HEADERS } from "./event_stream_headers.ts";
import { fixedReply } from "./fixed_reply.ts";
import { goJson } from "./go_json.ts";
import type { Reply } from "./reply.ts";

/**
 * `{"type":"error","error":{"type","message"},"request_id":"req_<24 hex>"}`, the type picked
 * from the status as `anthropic.NewError` does (400 `invalid_request_error`, 401
 * `authentication_error`, 403 `permission_error`, 404 `not_found_error`, 429
 * `rate_limit_error`, 503/529 `overloaded_error`, else `api_error`). `stage: "middleware"` (a
 * request rejected before the handler): `application/json; charset=utf-8`, no newline;
 * `stage: "handler"` (default, an error of the native handler rewritten): `application/json`,
 * trailing newline, plus the event-stream headers when the request asked for a stream.
 */
export function anthropicError(
  status: number,
  message: string,
  options: {
    readonly requestId: string;
    readonly stage?: "handler" | "middleware";
    readonly stream?: boolean;
    readonly delayMs?: number;
  },
): Reply {
  const body = goJson({
    type: "error",
    error: { type: errorType(status), message },
    request_id: `req_${options.requestId}`,
  });
  const middleware = options.stage === "middleware";
  const reply = fixedReply(status, middleware ? body : `${body}\n`, {
    contentType: middleware ? "application/json; charset=utf-8" : "application/json",
    delayMs: options.delayMs ?? 0,
  });
  if (middleware || options.stream !== true) return reply;
  return { ...reply, headers: { ...EVENT_STREAM_HEADERS, ...reply.headers } };
}

function errorType(status: number): string {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}
