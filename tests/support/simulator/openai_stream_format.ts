/**
 * The two generations of Ollama's OpenAI chat stream.
 *
 * @module
 */

/**
 * `0.24`: every delta repeats `"role":"assistant"` and carries `content` (even ""), the last delta
 * carries `finish_reason` (`tool_calls` once a tool call was sent), `created` is read per chunk.
 * `0.32.6` (Ollama ≥ 0.32.6): `role` only in the first delta, `finish_reason` in its own chunk with
 * `delta:{}` (`tool_calls` only instead of `stop`), one `created` per stream, no trailing
 * empty-content delta.
 */
export type OpenAiStreamFormat = "0.24" | "0.32.6";

/** The first version whose OpenAI chat stream has the `0.32.6` shape. */
const NEW_SHAPE_SINCE = [0, 32, 6];

/**
 * The stream shape of a simulator reporting `version`, unless `configured` forces one: versions
 * below 0.32.6 give `0.24`, others (and unparsable ones) `0.32.6`.
 */
export function openAiStreamFormatOf(
  version: string,
  configured: OpenAiStreamFormat | undefined,
): OpenAiStreamFormat {
  if (configured !== undefined) return configured;
  const parts = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version)?.slice(1).map(Number);
  if (parts === undefined) return "0.32.6";
  for (let i = 0; i < NEW_SHAPE_SINCE.length; i++) {
    const have = parts[i] ?? 0;
    const need = NEW_SHAPE_SINCE[i] ?? 0;
    if (have !== need) return have > need ? "0.32.6" : "0.24";
  }
  return "0.32.6";
}
