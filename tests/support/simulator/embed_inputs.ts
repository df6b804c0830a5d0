/**
 * The `input` field of an embedding request.
 *
 * @module
 */

/**
 * The inputs of an embed request: a string is one input ("" none), a list of strings is itself;
 * absent or null is none; undefined when `input` has any other type.
 */
export function embedInputs(input: unknown): string[] | undefined {
  if (input === undefined || input === null) return [];
  if (typeof input === "string") return input === "" ? [] : [input];
  if (!Array.isArray(input)) return undefined;
  return input.every((item) => typeof item === "string") ? input as string[] : undefined;
}
