/**
 * Per-request identity of an OpenAI-compatible answer.
 *
 * @module
 */

import { type OpenAiStreamFormat, openAiStreamFormatOf } from "./openai_stream_format.ts";
import type { RouteContext } from "./route_types.ts";

/** Which OpenAI-compatible endpoint is answering. */
export type OpenAiKind = "chat" | "completion";

/** What every chunk of one answer shares. */
export interface OpenAiIdentity {
  /** Which endpoint answers. */
  readonly kind: OpenAiKind;
  /** `chatcmpl-N` or `cmpl-N`. */
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  /** `stream_options.include_usage`. */
  readonly includeUsage: boolean;
  /** Shape of a chat stream. */
  readonly format: OpenAiStreamFormat;
}

/**
 * Identity of the request `context` answers: ids `chatcmpl-N` / `cmpl-N` with N the request
 * number modulo 999 (Ollama uses `rand.Intn(999)`), `created` its arrival second, the chat
 * stream shape from the simulator's `version` / `openAiStreamFormat`.
 */
export function openAiIdentity(
  kind: OpenAiKind,
  context: RouteContext,
  options: { readonly includeUsage: boolean },
): OpenAiIdentity {
  return {
    kind,
    id: `${kind === "chat" ? "chatcmpl" : "cmpl"}-${context.sequence % 999}`,
    created: Math.floor(context.receivedAt / 1000),
    includeUsage: options.includeUsage,
    format: openAiStreamFormatOf(context.options.version, context.options.openAiStreamFormat),
  };
}
