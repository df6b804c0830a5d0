/**
 * The context length a native request asks for.
 *
 * @module
 */

/** `options.num_ctx` of a native request when it is a finite number, else undefined. */
export function numCtxOf(options: unknown): number | undefined {
  if (options === null || typeof options !== "object") return undefined;
  const value = (options as Record<string, unknown>)["num_ctx"];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
