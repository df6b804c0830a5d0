/**
 * The `think` field of a native request, decoded as Ollama's `api.ThinkValue`.
 *
 * @module
 */

/** Thinking levels Ollama accepts besides `true` and `false`. */
export const THINK_LEVELS: readonly string[] = Object.freeze(["high", "medium", "low", "max"]);

/** The decoded value (`undefined` when absent or null), or the 400 message Ollama gives. */
export type NativeThink =
  | { readonly ok: true; readonly think: boolean | string | undefined }
  | { readonly ok: false; readonly message: string };

/** Decodes `think`: a boolean, one of {@link THINK_LEVELS}, or absent. */
export function nativeThink(value: unknown): NativeThink {
  if (value === undefined || value === null) return { ok: true, think: undefined };
  if (typeof value === "boolean") return { ok: true, think: value };
  if (typeof value === "string") {
    if (THINK_LEVELS.includes(value)) return { ok: true, think: value };
    return {
      ok: false,
      message: `invalid think value: ${
        JSON.stringify(value)
      } (must be "high", "medium", "low", "max", true, or false)`,
    };
  }
  return {
    ok: false,
    message: 'think must be a boolean or string ("high", "medium", "low", "max", true, or false)',
  };
}
