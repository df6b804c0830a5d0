/**
 * Server-sent events as Ollama's OpenAI layer writes them.
 *
 * @module
 */

import { goJson } from "./go_json.ts";

/** `data: <json>\n\n` (no `event:` line), the frame Ollama writes for every chunk. */
export function sseFrame(value: unknown): string {
  return `data: ${goJson(value)}\n\n`;
}
