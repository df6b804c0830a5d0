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
