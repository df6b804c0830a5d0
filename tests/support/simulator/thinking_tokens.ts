/**
 * The fixed text every simulated thinking model thinks, cut into tokens.
 *
 * @module
 */

/**
 * One cycle of the simulated thinking, one entry per streamed thinking token; it holds a
 * three-byte UTF-8 character (`…`) and cycles like the answer does.
 */
export const THINKING_TOKENS: readonly string[] = Object.freeze([
  "Let",
  " me",
  " think",
  "…",
  " light",
  " scatters",
  " off",
  " air",
  ".",
]);

/** The first `count` thinking tokens, cycling through {@link THINKING_TOKENS}. */
export function thinkingTokens(count: number): string[] {
  const tokens = new Array<string>(Math.max(0, count));
  for (let i = 0; i < tokens.length; i++) {
    tokens[i] = THINKING_TOKENS[i % THINKING_TOKENS.length] ?? "";
  }
  return tokens;
}
