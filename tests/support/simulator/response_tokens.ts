/**
 * The fixed text every simulated model answers with, cut into tokens.
 *
 * @module
 */

/**
 * One cycle of the simulated answer, one entry per streamed token. The first eight tokens (the
 * default answer) already hold two-byte (`é`), three-byte (`日本`) and four-byte (`🦙`) UTF-8
 * characters, so a byte-split response cuts inside characters, and an `&` that Go escapes as
 * `\u0026`. The cycle ends with a newline inside the JSON string and then starts over.
 */
export const RESPONSE_TOKENS: readonly string[] = Object.freeze([
  "The",
  " café",
  " in",
  " 日本",
  " serves",
  " 🦙",
  " lattes",
  " &",
  " naïve",
  " crème",
  " brûlée",
  ".",
  " Sky",
  " is",
  " blue",
  " because",
  " air",
  " scatters",
  " short",
  " wavelengths",
  " more",
  " than",
  " long",
  " ones",
  ".\n",
]);

/** The first `count` tokens of the answer, cycling through {@link RESPONSE_TOKENS}. */
export function responseTokens(count: number): string[] {
  const tokens = new Array<string>(Math.max(0, count));
  for (let i = 0; i < tokens.length; i++) {
    tokens[i] = RESPONSE_TOKENS[i % RESPONSE_TOKENS.length] ?? "";
  }
  return tokens;
}
