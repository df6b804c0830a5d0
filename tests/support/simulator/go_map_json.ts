/**
 * JSON text of values Ollama builds as Go maps (`map[string]any`), whose keys Go sorts.
 *
 * @module
 */

import { goJson } from "./go_json.ts";

/**
 * {@link goJson} with the keys of every object sorted, at every depth, as Go's `encoding/json`
 * writes a `map[string]any` (the `/v1/responses` stream events are such maps).
 */
export function goMapJson(value: unknown): string {
  return goJson(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  }
  return sorted;
}
