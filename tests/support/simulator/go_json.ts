/**
 * JSON text exactly as Go's `encoding/json` writes it, which is what Ollama puts on the wire.
 *
 * @module
 */

const GO_ESCAPED = /[<>&\u2028\u2029]/g;

/**
 * Serialises a value the way Go's `json.Marshal` does for the shapes the simulator produces:
 * compact, keys in insertion order (build objects in Go struct field order), and `<`, `>`, `&`,
 * U+2028, U+2029 escaped as `\u003c`-style sequences (Go escapes HTML by default). Every other
 * character, multi-byte UTF-8 included, is written as it is.
 */
export function goJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError(`Cannot encode ${String(value)} as JSON: it has no JSON representation`);
  }
  return text.replace(GO_ESCAPED, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
