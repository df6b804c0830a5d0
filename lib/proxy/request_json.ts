/**
 * Reads the fields the proxy needs (`model`, `stream`, ...) from a request body it forwards
 * unchanged. A body that is not a JSON object yields `null`: Ollama answers it with its own 400.
 *
 * @module
 */

const decoder = new TextDecoder();

/** Parses `body` as a JSON object, or returns `null`. */
export function parseJsonObject(body: Uint8Array): Record<string, unknown> | null {
  if (body.length === 0) return null;
  try {
    const value = JSON.parse(decoder.decode(body));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}
