/**
 * The simulator's tokenizer: one token per whitespace-separated word.
 *
 * @module
 */

/** Number of whitespace-separated words in `text` (0 for empty or blank text). */
export function wordCount(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/u).length;
}
