/**
 * What a route answers, before it is written: status, headers and body parts with the delay
 * before each, in the framing Go's net/http would choose.
 *
 * @module
 */

const ENCODER = new TextEncoder();

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

/** A body part made of UTF-8 text, written after `delayMs`. */
export function textPart(text: string, delayMs = 0): BodyPart {
  return { bytes: ENCODER.encode(text), delayMs };
}
