/**
 * What a route answers, before it is written: status, headers and body parts with the delay
 * before each, in the framing Go's net/http would choose.
 *
 * @module
 */

import { goJson } from "./go_json.ts";

const ENCODER = new TextEncoder();

/** Go's net/http sends Content-Length when a handler writes at most this much without flushing. */
export const GO_BUFFER_BEFORE_CHUNKING = 2048;

/** One flush of a response body and how long to wait before it. */
export interface BodyPart {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly delayMs: number;
}

/** A route's answer. `parts` is consumed lazily, while the body is written. */
export interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Body parts in order; absent for an empty body. */
  readonly parts?: Iterable<BodyPart>;
  /** `length`: small body sent with Content-Length; `chunked`: streamed. */
  readonly framing: "length" | "chunked";
}

/** A body part made of UTF-8 text. */
export function textPart(text: string, delayMs = 0): BodyPart {
  return { bytes: ENCODER.encode(text), delayMs };
}

/**
 * A whole body written at once after `delayMs`, framed like Go: Content-Length up to 2048 bytes,
 * chunked above.
 */
export function fixedReply(
  status: number,
  contentType: string,
  body: string,
  options: { readonly delayMs?: number } = {},
): Reply {
  const part = textPart(body, options.delayMs ?? 0);
  return {
    status,
    headers: { "content-type": contentType },
    parts: [part],
    framing: part.bytes.length <= GO_BUFFER_BEFORE_CHUNKING ? "length" : "chunked",
  };
}

/**
 * Gin's `c.JSON`: Go-encoded JSON without a trailing newline, `application/json; charset=utf-8`.
 * With `encoder: true`, Go's `json.NewEncoder(w).Encode` instead: trailing newline and plain
 * `application/json` (what Ollama's OpenAI layer writes).
 */
export function jsonReply(
  status: number,
  value: unknown,
  options: { readonly delayMs?: number; readonly encoder?: boolean } = {},
): Reply {
  const encoder = options.encoder === true;
  return fixedReply(
    status,
    encoder ? "application/json" : "application/json; charset=utf-8",
    encoder ? `${goJson(value)}\n` : goJson(value),
    options.delayMs === undefined ? {} : { delayMs: options.delayMs },
  );
}

/** An empty body with no Content-Type (Go: `c.Status(code)`), e.g. 403 for a foreign Host. */
export function emptyReply(status: number, headers: Record<string, string> = {}): Reply {
  return { status, headers, framing: "length" };
}

/** A streamed (chunked) body of lazily produced parts. */
export function streamReply(status: number, contentType: string, parts: Iterable<BodyPart>): Reply {
  return { status, headers: { "content-type": contentType }, parts, framing: "chunked" };
}

/** Ollama's native error body `{"error":"..."}`. */
export function ollamaError(status: number, message: string, delayMs = 0): Reply {
  return jsonReply(status, { error: message }, { delayMs });
}

/** `type` of an OpenAI-shaped error for a status, as Ollama's `openai.NewError` picks it. */
export function openaiErrorType(status: number): string {
  if (status === 400) return "invalid_request_error";
  if (status === 404) return "not_found_error";
  return "api_error";
}

/** The OpenAI-shaped error object `{"error":{"message","type","param":null,"code":null}}`. */
export function openaiErrorBody(status: number, message: string): unknown {
  return { error: { message, type: openaiErrorType(status), param: null, code: null } };
}

/**
 * An OpenAI-shaped error reply. `stage: "handler"` (default) is an error of the underlying native
 * handler rewritten by Ollama's OpenAI writer (`application/json`, trailing newline);
 * `stage: "middleware"` is a request rejected before that (`c.AbortWithStatusJSON`).
 */
export function openaiError(
  status: number,
  message: string,
  options: { readonly stage?: "handler" | "middleware"; readonly delayMs?: number } = {},
): Reply {
  return jsonReply(status, openaiErrorBody(status, message), {
    encoder: options.stage !== "middleware",
    delayMs: options.delayMs ?? 0,
  });
}
