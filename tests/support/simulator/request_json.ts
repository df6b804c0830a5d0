/**
 * Decoding a JSON request body into a loosely typed object, with the error texts Go's
 * `encoding/json` (through Gin's `ShouldBindJSON`) gives for bad input.
 *
 * @module
 */

/** A decoded JSON object. */
export type JsonObject = Record<string, unknown>;

/** JSON kinds a Go struct field accepts (`null` is accepted by every field). */
export type FieldKind = "string" | "number" | "boolean" | "object" | "array" | "any";

/** Result of {@link decodeRequestJson}. */
export type DecodeResult =
  | { readonly ok: true; readonly value: JsonObject }
  | { readonly ok: false; readonly empty: boolean; readonly message: string };

/**
 * Decodes `text` as the Go struct `structName` (e.g. `api.GenerateRequest`) whose typed fields are
 * `fields` (JSON kind per field name). Fails like Go: an empty body is `EOF` (`empty: true`), bad syntax `invalid character
 * ...` or `unexpected EOF`, a non-object `json: cannot unmarshal array into Go value of type
 * api.X`, a field of the wrong kind `json: cannot unmarshal number into Go struct field X.prompt
 * of type string`.
 */
export function decodeRequestJson(
  text: string,
  options: {
    readonly structName: string;
    readonly fields?: Readonly<Record<string, FieldKind>>;
  },
): DecodeResult {
  const { structName, fields = {} } = options;
  if (text.trim() === "") return { ok: false, empty: true, message: "EOF" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, empty: false, message: syntaxMessage(text) };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    if (value === null) return { ok: true, value: {} };
    return {
      ok: false,
      empty: false,
      message: `json: cannot unmarshal ${jsonKind(value)} into Go value of type ${structName}`,
    };
  }
  const object = value as JsonObject;
  const shortName = structName.slice(structName.lastIndexOf(".") + 1);
  for (const [field, kind] of Object.entries(fields)) {
    const fieldValue = object[field];
    if (fieldValue === undefined || fieldValue === null || kind === "any") continue;
    const actual = jsonKind(fieldValue);
    if (actual !== kind) {
      return {
        ok: false,
        empty: false,
        message: `json: cannot unmarshal ${actual} into Go struct field ${shortName}.${field} ` +
          `of type ${goTypeName(kind)}`,
      };
    }
  }
  return { ok: true, value: object };
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return "array";
  if (typeof value === "boolean") return "boolean";
  return typeof value;
}

function goTypeName(kind: FieldKind): string {
  switch (kind) {
    case "boolean":
      return "bool";
    case "number":
      return "int";
    case "object":
      return "map[string]interface {}";
    case "array":
      return "[]interface {}";
    default:
      return kind;
  }
}

function syntaxMessage(text: string): string {
  const first = text.trimStart()[0] ?? "";
  if (!/^[{["\-0-9tfn]/.test(first)) {
    return `invalid character '${first}' looking for beginning of value`;
  }
  let message = "";
  try {
    JSON.parse(text);
  } catch (error) {
    message = error instanceof Error ? error.message : String(error);
  }
  if (/end of JSON input|Unterminated/i.test(message)) return "unexpected EOF";
  const position = Number(/position (\d+)/.exec(message)?.[1] ?? NaN);
  const character = Number.isNaN(position) ? "" : text[position] ?? "";
  if (character === "") return "unexpected EOF";
  if (/after JSON/i.test(message)) return `invalid character '${character}' after top-level value`;
  return `invalid character '${character}' looking for beginning of value`;
}
