/**
 * Per-request identity of an OpenAI-compatible answer.
 *
 * @module
 */

import type { RouteContext } from "./route_types.ts";

/** Which OpenAI-compatible endpoint is answering. */
export type OpenAiKind = "chat" | "completion";

/** What every chunk of one answer shares. */
export interface OpenAiIdentity {
  readonly kind: OpenAiKind;
  /** `chatcmpl-N` or `cmpl-N`. */
  readonly id: string;
  /** Unix seconds. */
  readonly created: number;
  /** `stream_options.include_usage`. */
  readonly includeUsage: boolean;
}

/**
 * Identity of the request `context` answers: ids `chatcmpl-N` / `cmpl-N` with N the request
 * number modulo 999 (Ollama uses `rand.Intn(999)`), `created` its arrival second.
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
  };
}
