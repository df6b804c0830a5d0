/**
 * The first step of every native-API route of the simulator: decode the JSON body as Ollama's Go
 * struct, or answer 400 as Ollama does (`missing request body` for an empty one, Go's decoding
 * error otherwise).
 *
 * @module
 */

import { ollamaError } from "./ollama_error.ts";
import type { Reply } from "./reply.ts";
import { decodeRequestJson, type FieldKind, type JsonObject } from "./request_json.ts";

/** The decoded body, or the 400 reply to give instead. */
export type DecodedOllamaRequest =
  | { readonly body: JsonObject; readonly error?: undefined }
  | { readonly body?: undefined; readonly error: Reply };

/** Decodes `text` as the Go struct `structName` with typed `fields` (see `decodeRequestJson`). */
export function decodeOllamaRequest(
  text: string,
  options: { readonly structName: string; readonly fields?: Readonly<Record<string, FieldKind>> },
): DecodedOllamaRequest {
  const decoded = decodeRequestJson(text, options);
  if (decoded.ok) return { body: decoded.value };
  return { error: ollamaError(400, decoded.empty ? "missing request body" : decoded.message) };
}
