/**
 * Error answers in the shape of the API called (Ollama's `{"error":"..."}`, OpenAI's
 * `{"error":{"message",...}}`, Anthropic's `{"type":"error","error":{...}}`): 502 when no usable
 * answer came from Ollama, 504 when a time limit ran out; or, when the client itself went away
 * first, a record of the disconnect.
 *
 * @module
 */

import type { RequestObservation } from "../observe/request_observation.ts";
import { UpstreamUnreachableError } from "./upstream.ts";
import type { Logger } from "../log.ts";
import { errorDetail } from "../error_detail.ts";
import { Http1TimeoutError } from "../http1/http1_timeout_error.ts";
import { MalformedResponseError } from "../http1/http1_head.ts";

/** Which error body shape the client's API uses. */
export type ErrorShape = "ollama" | "openai" | "anthropic";

/** The error shape of the API a path belongs to: Anthropic's, OpenAI's (`/v1/`), or Ollama's. */
export function errorShapeOf(path: string): ErrorShape {
  if (path === "/v1/messages") return "anthropic";
  return path.startsWith("/v1/") ? "openai" : "ollama";
}

/** Records a request whose client left before any answer was sent (499, nobody to send it to). */
export function clientLeft(observation: RequestObservation): Response {
  observation.fail("client_disconnect");
  observation.finish(499);
  return new Response(null, { status: 499 });
}

/**
 * The `type` of Anthropic's error body for an HTTP status, as its API documents them (its clients
 * tell a bad key, a refusal and an oversized body apart by it).
 */
const ANTHROPIC_ERROR_TYPES: ReadonlyMap<number, string> = new Map([
  [400, "invalid_request_error"],
  [401, "authentication_error"],
  [403, "permission_error"],
  [404, "not_found_error"],
  [413, "request_too_large"],
  [429, "rate_limit_error"],
  [529, "overloaded_error"],
]);

/**
 * Builds an error body in the API's shape for an answer with `status`; the error `type` follows
 * from the status (OpenAI's `invalid_request_error` for a client error and `api_error` else;
 * Anthropic's per-status types), `code` is OpenAI's.
 */
export function errorBody(
  message: string,
  options: { shape: ErrorShape; status: number; code?: string },
): string {
  if (options.shape === "openai") {
    return JSON.stringify({
      error: {
        message,
        type: options.status >= 400 && options.status < 500 ? "invalid_request_error" : "api_error",
        param: null,
        code: options.code ?? null,
      },
    });
  }
  if (options.shape === "anthropic") {
    // Anthropic's Messages API (`/v1/messages`): `{"type":"error","error":{"type","message"}}`.
    const type = ANTHROPIC_ERROR_TYPES.get(options.status) ?? "api_error";
    return JSON.stringify({ type: "error", error: { type, message } });
  }
  return JSON.stringify({ error: message });
}

/** Records and answers a request whose upstream call threw `error`. */
export function upstreamFailure(
  observation: RequestObservation,
  error: unknown,
  options: { shape: ErrorShape; logger: Logger; clientGone: boolean },
): Response {
  // The client went away before Ollama answered; the upstream call was aborted with it.
  if (options.clientGone) return clientLeft(observation);
  const reason = failureReason(error);
  const detail = errorDetail(error);
  const message = error instanceof UpstreamUnreachableError
    ? error.message
    : reason === "upstream_timeout"
    ? `Ollama did not answer in time: ${detail}`
    : `Cannot forward the request to Ollama: ${detail}`;
  const status = reason === "upstream_timeout" ? 504 : 502;
  observation.fail(reason);
  observation.finish(status);
  options.logger.warn(reason.replace("_", " "), { path: observation.info.path, error: message });
  return errorResponse(message, { shape: options.shape, status });
}

/**
 * Why an exchange with Ollama failed, as the `reason` label says it: a time limit, an answer that
 * cannot be passed on, or no answer at all.
 */
export function failureReason(
  error: unknown,
): "upstream_timeout" | "upstream_protocol_error" | "upstream_unreachable" {
  if (error instanceof Http1TimeoutError) return "upstream_timeout";
  if (error instanceof MalformedResponseError) return "upstream_protocol_error";
  return "upstream_unreachable";
}

/** An error answer (`status`, default 502) with `message` in the API's error shape. */
export function errorResponse(
  message: string,
  options: { shape: ErrorShape; status?: number },
): Response {
  const status = options.status ?? 502;
  return new Response(errorBody(message, { shape: options.shape, status }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}
