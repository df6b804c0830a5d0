/**
 * Reading string fields of a decoded request.
 *
 * @module
 */

/** The string in `object[field]`, or "" when absent, null or not a string. */
export function stringField(object: Readonly<Record<string, unknown>>, field: string): string {
  const value = object[field];
  return typeof value === "string" ? value : "";
}
