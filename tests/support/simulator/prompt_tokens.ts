/**
 * How the simulator counts prompt tokens (`prompt_eval_count`).
 *
 * @module
 */

import { wordCount } from "./word_count.ts";

/** A chat message as far as counting is concerned. */
export interface CountedMessage {
  readonly role?: string;
  readonly content?: string | null;
}

/** Fixed prompt-template overhead added to every generation's `prompt_eval_count`. */
export const TEMPLATE_TOKENS = 10;
/** Per-message overhead (role markers) added for each chat message. */
export const MESSAGE_TOKENS = 4;
/** Added for each tool a request offers (its definition goes into the prompt). */
export const TOOL_TOKENS = 300;

/**
 * Counts prompt tokens: {@link TEMPLATE_TOKENS} plus, for a prompt string, its words and the
 * words of `system`; for chat messages, {@link MESSAGE_TOKENS} plus the words of each message.
 * OpenAI content parts count as one message each (Ollama splits them so); an Anthropic `system`
 * or a Responses `instructions` is one more message. Each tool offered adds {@link TOOL_TOKENS}.
 */
export function countPromptTokens(
  input: string | readonly CountedMessage[],
  options: { readonly system?: string; readonly tools?: number } = {},
): number {
  const tools = (options.tools ?? 0) * TOOL_TOKENS;
  if (typeof input === "string") {
    return TEMPLATE_TOKENS + tools + wordCount(options.system ?? "") + wordCount(input);
  }
  let count = TEMPLATE_TOKENS + tools;
  for (const message of input) count += MESSAGE_TOKENS + wordCount(message.content ?? "");
  return count;
}
