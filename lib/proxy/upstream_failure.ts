/**
 * The answer when no response came from Ollama: 502 with an error body naming the upstream, in
 * Ollama's shape (`{"error":"..."}`) or OpenAI's (`{"error":{"message",...}}`); or, when the
 * client itself went away first, a record of the disconnect.
 *
 * @module
 */

import type { RequestObservation } from "./request_observation.ts";
import { UpstreamUnreachableError } from "./upstream.ts";
import type { Logger } from "../log.ts";

/** Which error body shape the client's API uses. */
export type ErrorShape = "ollama" | "openai";

/** Builds an error body in the API's shape. */
export function errorBody(
  message: string,
  options: { shape: ErrorShape; type?: string; code?: string },
): string {
  if (options.shape === "openai") {
    return JSON.stringify({
      error: {
        message,
        type: options.type ?? "api_error",
        param: null,
        code: options.code ?? null,
      },
    });
  }
  return JSON.stringify({ error: message });
}

/** Records and answers a request whose upstream call threw `error`. */
export function upstreamFailure(
  observation: RequestObservation,
  error: unknown,
  options: { shape: ErrorShape; logger: Logger; clientGone: boolean },
): Response {
  if (options.clientGone) {
    // The client went away before Ollama answered; the upstream call was aborted with it.
    observation.fail("client_disconnect");
    observation.finish(499);
    return new Response(null, { status: 499 });
  }
  const message = error instanceof UpstreamUnreachableError
    ? error.message
    : `Cannot forward the request to Ollama: ${error instanceof Error ? error.message : error}`;
  observation.fail("upstream_unreachable");
  observation.finish(502);
  options.logger.warn("upstream unreachable", { path: observation.info.path, error: message });
  return badGateway(message, { shape: options.shape });
}

/** A 502 answer with `message` in the API's error shape. */
export function badGateway(message: string, options: { shape: ErrorShape }): Response {
  return new Response(errorBody(message, options), {
    status: 502,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}
