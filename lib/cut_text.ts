/**
 * Cutting text that clients sent (model names, header values) to a bounded length without
 * splitting a character: a surrogate pair (an emoji) is kept whole or left out whole.
 *
 * @module
 */

/** The first `max` UTF-16 code units of `text`, one fewer when the last would split a pair. */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
