/**
 * The answer-length limit of a native request.
 *
 * @module
 */

/** `options.num_predict` of a native request when it is a finite number, else undefined. */
export function numPredictOf(options: unknown): number | undefined {
  if (options === null || typeof options !== "object") return undefined;
  const value = (options as Record<string, unknown>)["num_predict"];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}
