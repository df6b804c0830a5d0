/**
 * Content negotiation for `/metrics`: which exposition format, and whether to gzip.
 *
 * @module
 */

/** A format `/metrics` can answer in. */
export type ExpositionFormat = "text" | "openmetrics";

interface Preference {
  readonly type: string;
  readonly subtype: string;
  readonly params: ReadonlyMap<string, string>;
  readonly q: number;
}

/** Versions of each format we can answer; the text format 1.0.0 only adds UTF-8 names. */
const TEXT_VERSIONS = new Set(["0.0.4", "1.0.0"]);
const OPENMETRICS_VERSIONS = new Set(["1.0.0", "0.0.1"]);

/**
 * Picks the exposition format for an `Accept` header, honouring q-values and the specificity
 * rules of RFC 9110 (a `text/plain;version=0.0.4` range outranks `text/*`, which outranks `*\/*`).
 * OpenMetrics (`application/openmetrics-text`, version 1.0.0, 0.0.1 or none) is chosen only when
 * its quality is strictly higher than the text format's (`text/plain`, version 0.0.4, 1.0.0 or
 * none); everything else, no header, `*\/*` and garbage included, gets text 0.0.4.
 *
 * @example
 * ```ts
 * negotiateFormat("application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3");
 * // "openmetrics"
 * ```
 */
export function negotiateFormat(accept: string | null): ExpositionFormat {
  if (accept === null || accept.trim() === "") return "text";
  const preferences = parseList(accept).map(parsePreference);
  const openMetrics = quality(preferences, "application", "openmetrics-text", OPENMETRICS_VERSIONS);
  const text = quality(preferences, "text", "plain", TEXT_VERSIONS);
  return openMetrics > text ? "openmetrics" : "text";
}

/**
 * Whether an `Accept-Encoding` header accepts gzip: `gzip` (or `x-gzip`) with a non-zero q-value,
 * or, when neither is listed, `*` with a non-zero q-value. `gzip;q=0` means no.
 */
export function acceptsGzip(acceptEncoding: string | null): boolean {
  if (acceptEncoding === null) return false;
  let gzip: number | undefined;
  let wildcard: number | undefined;
  for (const item of parseList(acceptEncoding)) {
    const [coding = "", ...params] = splitOutsideQuotes(item, ";");
    const name = coding.trim().toLowerCase();
    const q = qValue(params);
    if (name === "gzip" || name === "x-gzip") gzip = Math.max(gzip ?? 0, q);
    else if (name === "*") wildcard = Math.max(wildcard ?? 0, q);
  }
  return (gzip ?? wildcard ?? 0) > 0;
}

/**
 * The quality the preferences give one media type: that of the most specific matching ranges
 * (the highest q among them), 0 when none matches.
 */
function quality(
  preferences: readonly Preference[],
  type: string,
  subtype: string,
  versions: ReadonlySet<string>,
): number {
  let bestSpecificity = -1;
  let bestQ = 0;
  for (const preference of preferences) {
    const specificity = matchSpecificity(preference, type, subtype, versions);
    if (specificity < 0) continue;
    if (specificity > bestSpecificity) {
      bestSpecificity = specificity;
      bestQ = preference.q;
    } else if (specificity === bestSpecificity) {
      bestQ = Math.max(bestQ, preference.q);
    }
  }
  return bestQ;
}

/** 3: type/subtype with a version we speak; 2: type/subtype; 1: type/*; 0: *\/*; -1: no match. */
function matchSpecificity(
  preference: Preference,
  type: string,
  subtype: string,
  versions: ReadonlySet<string>,
): number {
  if (preference.type === "*" && preference.subtype === "*") return 0;
  if (preference.type !== type) return -1;
  if (preference.subtype === "*") return 1;
  if (preference.subtype !== subtype) return -1;
  const version = preference.params.get("version");
  if (version === undefined) return 2;
  return versions.has(version) ? 3 : -1;
}

function parsePreference(range: string): Preference {
  const [mediaType = "", ...params] = splitOutsideQuotes(range, ";");
  const slash = mediaType.indexOf("/");
  const type = slash < 0 ? "" : mediaType.slice(0, slash).trim().toLowerCase();
  const subtype = slash < 0 ? "" : mediaType.slice(slash + 1).trim().toLowerCase();
  const parsed = new Map<string, string>();
  for (const param of params) {
    const equals = param.indexOf("=");
    if (equals < 0) continue;
    const key = param.slice(0, equals).trim().toLowerCase();
    let value = param.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1).replaceAll(/\\(.)/g, "$1");
    }
    if (key !== "q") parsed.set(key, value);
  }
  // A range that is not type/subtype matches nothing.
  const valid = type !== "" && subtype !== "" && (type !== "*" || subtype === "*");
  return { type, subtype, params: parsed, q: valid ? qValue(params) : 0 };
}

/** The q parameter among `params`: 1 when absent, 0 when malformed or out of range. */
function qValue(params: readonly string[]): number {
  for (const param of params) {
    const equals = param.indexOf("=");
    if (equals < 0 || param.slice(0, equals).trim().toLowerCase() !== "q") continue;
    const text = param.slice(equals + 1).trim();
    if (!/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text)) return 0;
    return Number(text);
  }
  return 1;
}

function parseList(header: string): string[] {
  return splitOutsideQuotes(header, ",").filter((item) => item.trim() !== "");
}

/** Splits on `separator` except inside double-quoted strings (which may escape with `\`). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted && char === "\\") i++;
    else if (char === '"') quoted = !quoted;
    else if (!quoted && char === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
