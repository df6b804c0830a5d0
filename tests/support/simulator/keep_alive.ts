/**
 * Ollama's `keep_alive` request field: how long a model stays loaded after a request.
 *
 * @module
 */

/** Default keep-alive when the request does not say: 5 minutes. */
export const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;
/** What Ollama uses for "forever" (a negative keep-alive): `math.MaxInt64` nanoseconds. */
export const FOREVER_MS = 9_223_372_036_854;

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Milliseconds a model stays loaded for a `keep_alive` value: a number is seconds, a string is a
 * Go duration (`"10m"`, `"1h30m"`, `"0"`); negative means forever; absent or anything else the
 * default. 0 means "unload now".
 */
export function keepAliveMs(value: unknown): number {
  if (typeof value === "number" && Number.isFinite(value)) {
    return value < 0 ? FOREVER_MS : Math.trunc(value) * 1000;
  }
  if (typeof value !== "string") return DEFAULT_KEEP_ALIVE_MS;
  const parsed = parseGoDuration(value);
  if (parsed === undefined) return DEFAULT_KEEP_ALIVE_MS;
  return parsed < 0 ? FOREVER_MS : parsed;
}

function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "0" || trimmed === "+0" || trimmed === "-0") return 0;
  const match = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/u.exec(trimmed);
  if (match === null) return undefined;
  let total = 0;
  for (const part of trimmed.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gu)) {
    total += Number(part[1]) * (UNIT_MS[part[2] ?? "ms"] ?? 1);
  }
  return match[1] === "-" ? -total : total;
}
