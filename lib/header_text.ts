/**
 * Header values as people wrote them. HTTP carries header values as bytes, and Deno's `Headers`
 * hand them over one character per byte (Latin-1), so `X-Client: é` sent as UTF-8 arrives as
 * `Ã©`. Values that are valid UTF-8 are decoded as such; anything else is kept as it came.
 *
 * @module
 */

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Returns `value` (a header value as Deno's `Headers` give it) decoded as UTF-8 when its bytes
 * are valid UTF-8 and not plain ASCII; otherwise `value` unchanged.
 */
export function headerText(value: string): string {
  let wide = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    // A character above 0xFF did not come from one byte: the value is already text.
    if (code > 0xff) return value;
    if (code > 0x7f) wide = true;
  }
  if (!wide) return value;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
  try {
    return utf8.decode(bytes);
  } catch {
    return value;
  }
}
