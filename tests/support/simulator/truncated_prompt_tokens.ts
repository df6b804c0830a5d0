/**
 * How many prompt tokens Ollama evaluates when the prompt does not fit the loaded context.
 *
 * @module
 */

import { type CountedMessage, countPromptTokens } from "./prompt_tokens.ts";

/**
 * The `prompt_eval_count` of `input` in a context of `contextLength` tokens, as Ollama v0.24
 * truncates: chat messages (every family but `/api/generate` and `/v1/completions`) first lose
 * whole messages from the front until the prompt fits (system messages among the dropped ones are
 * kept; the last message always stays); then the runner keeps at most `contextLength` tokens of
 * whatever is left (so a prompt string, or a last message that alone is too long, counts exactly
 * `contextLength`). Measured on the real v0.24 with `num_ctx` 20 and 40 and a 64-token context:
 * 103 tokens in three messages became 36 (two dropped) and 20; 417 tokens of prompt became 64.
 */
export function truncatedPromptTokens(
  input: string | readonly CountedMessage[],
  options: { readonly contextLength: number; readonly system?: string; readonly tools?: number },
): number {
  const { contextLength, ...counting } = options;
  if (typeof input === "string") {
    return Math.min(countPromptTokens(input, counting), contextLength);
  }
  let count = countPromptTokens(input, counting);
  for (let first = 1; count > contextLength && first < input.length; first++) {
    const kept = input.slice(0, first).filter((message) => message.role === "system");
    count = countPromptTokens([...kept, ...input.slice(first)], counting);
  }
  return Math.min(count, contextLength);
}
