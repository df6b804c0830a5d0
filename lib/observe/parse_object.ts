/**
 * Parsing one line of an answer that should hold a JSON object.
 *
 * @module
 */

/** The JSON object `text` holds, or `undefined` when it holds none (bad JSON, an array, …). */
export function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `value` is a JSON object (not `null`, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether `value` is a non-empty string. */
export function nonEmpty(value: unknown): boolean {
  return typeof value === "string" && value !== "";
}

const decoder = new TextDecoder();

/**
 * The payload of a Server-Sent Events `data:` line (the space after the colon dropped), or
 * `undefined` for any other line (`event:`, a comment, the blank line between events).
 */
export function sseData(line: Uint8Array): string | undefined {
  // "data:" starts with 0x64 ('d'); other lines are not decoded.
  if (line.length < 5 || line[0] !== 0x64) return undefined;
  const text = decoder.decode(line);
  if (!text.startsWith("data:")) return undefined;
  return text.slice(text[5] === " " ? 6 : 5);
}
