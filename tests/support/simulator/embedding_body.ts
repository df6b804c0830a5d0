/**
 * JSON bodies holding embedding vectors, written piece by piece so that a response of tens of
 * megabytes never exists as one string.
 *
 * @module
 */

import { COMPONENT_TEXT, componentIndex } from "./embedding_components.ts";
import { fixedReply } from "./fixed_reply.ts";
import { type Reply, textPart } from "./reply.ts";
import { streamReply } from "./stream_reply.ts";
import { stringHash } from "./string_hash.ts";

/** Size of one write of a streamed embedding body. */
export const EMBEDDING_PART_BYTES = 64 * 1024;

/** Where the vectors sit in the JSON document. */
export interface VectorLayout {
  /** Text before the first vector, e.g. `{"model":"m","embeddings":[`. */
  readonly head: string;
  /** Text before vector `i` (after the separator); the vector itself is `[...]` or a string. */
  readonly open: (i: number) => string;
  /** Text after vector `i`, e.g. `,"index":0}`. */
  readonly close: (i: number) => string;
  /** Text after the last vector, e.g. `],"total_duration":1}`. */
  readonly tail: string;
  /** `base64`: each vector is a string of little-endian float32 (OpenAI `encoding_format`). */
  readonly encoding?: "float" | "base64";
}

/**
 * Replies with the document `layout` describes, holding one vector of `dimensions` components
 * per input, after `delayMs`. Small documents are one write (with Content-Length up to 2048
 * bytes, as Go frames it); large ones are chunked in {@link EMBEDDING_PART_BYTES} writes
 * produced on demand.
 */
export function embeddingReply(
  inputs: readonly string[],
  layout: VectorLayout,
  options: { readonly contentType: string; readonly dimensions: number; readonly delayMs: number },
): Reply {
  const { contentType, dimensions, delayMs } = options;
  const parts = embeddingText(inputs, dimensions, layout);
  if (inputs.length * dimensions <= 256) {
    return fixedReply(200, [...parts].join(""), { contentType, delayMs });
  }
  return streamReply(
    contentType,
    (function* () {
      let first = true;
      for (const text of parts) {
        yield textPart(text, first ? delayMs : 0);
        first = false;
      }
    })(),
  );
}

function* embeddingText(
  inputs: readonly string[],
  dimensions: number,
  layout: VectorLayout,
): Generator<string, void, undefined> {
  let pending: string[] = [layout.head];
  let size = layout.head.length;
  const push = (text: string): string | undefined => {
    pending.push(text);
    size += text.length;
    if (size < EMBEDDING_PART_BYTES) return undefined;
    const joined = pending.join("");
    pending = [];
    size = 0;
    return joined;
  };
  for (let i = 0; i < inputs.length; i++) {
    const hash = stringHash(inputs[i] ?? "");
    const ready = push(`${i === 0 ? "" : ","}${layout.open(i)}`);
    if (ready !== undefined) yield ready;
    if (layout.encoding === "base64") {
      const values = new Float32Array(dimensions);
      for (let j = 0; j < dimensions; j++) {
        values[j] = Number(COMPONENT_TEXT[componentIndex(hash, j)]);
      }
      const encoded = push(JSON.stringify(base64(new Uint8Array(values.buffer))));
      if (encoded !== undefined) yield encoded;
    } else {
      const opened = push("[");
      if (opened !== undefined) yield opened;
      for (let j = 0; j < dimensions; j++) {
        const text = COMPONENT_TEXT[componentIndex(hash, j)] ?? "0";
        const piece = push(j === 0 ? text : `,${text}`);
        if (piece !== undefined) yield piece;
      }
      const ended = push("]");
      if (ended !== undefined) yield ended;
    }
    const closed = push(layout.close(i));
    if (closed !== undefined) yield closed;
  }
  pending.push(layout.tail);
  yield pending.join("");
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
