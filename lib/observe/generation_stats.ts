/**
 * What Ollama reports about one generation, read from the final chunk of a native response
 * (durations in integer nanoseconds) or from an OpenAI-style `usage` object.
 *
 * Every number must be what Ollama can send: a non-negative safe integer (token counts, and
 * durations in nanoseconds). A field holding anything else (`1e308`, `1.5`, `-3`, `"12"`) marks
 * the stats as `invalid`, and the request records none of them: one bad answer must not push a
 * counter to `+Inf` or make it go fractional for good.
 *
 * @module
 */

/** Token counts and Ollama's own durations (nanoseconds) for one request; absent when not sent. */
export interface GenerationStats {
  /** Ollama's `done_reason`, e.g. `stop`, `length`, `load` or `unload`. */
  doneReason?: string;
  /** Prompt tokens: Ollama's `prompt_eval_count`, OpenAI's `prompt_tokens`. */
  promptTokens?: number;
  /** Generated tokens: Ollama's `eval_count`, OpenAI's `completion_tokens`. */
  outputTokens?: number;
  /** Ollama's `total_duration`: all time spent on the request, in nanoseconds. */
  totalDurationNs?: number;
  /** Ollama's `load_duration`: time spent loading the model, in nanoseconds. */
  loadDurationNs?: number;
  /** Ollama's `prompt_eval_duration`: time spent evaluating the prompt, in nanoseconds. */
  promptEvalDurationNs?: number;
  /** Ollama's `eval_duration`: time spent generating the output, in nanoseconds. */
  evalDurationNs?: number;
  /** The first field whose value is not a non-negative safe integer; the stats are unusable. */
  invalid?: string;
}

type NumberKey = Exclude<keyof GenerationStats, "doneReason" | "invalid">;

const OLLAMA_FIELDS: readonly (readonly [NumberKey, string])[] = [
  ["promptTokens", "prompt_eval_count"],
  ["outputTokens", "eval_count"],
  ["totalDurationNs", "total_duration"],
  ["loadDurationNs", "load_duration"],
  ["promptEvalDurationNs", "prompt_eval_duration"],
  ["evalDurationNs", "eval_duration"],
];

const USAGE_FIELDS: readonly (readonly [NumberKey, string])[] = [
  ["promptTokens", "prompt_tokens"],
  ["outputTokens", "completion_tokens"],
  // The Responses and Anthropic Messages APIs name them so.
  ["promptTokens", "input_tokens"],
  ["outputTokens", "output_tokens"],
];

/** Copies the listed fields of `record` into `stats`, noting the first one that is not valid. */
function readFields(
  record: Record<string, unknown>,
  fields: readonly (readonly [NumberKey, string])[],
  stats: GenerationStats,
): void {
  for (const [key, field] of fields) {
    const value = record[field];
    // Absent and null fields are not sent; Go's encoder never writes null for a number.
    if (value === undefined || value === null) continue;
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
      stats[key] = value;
    } else {
      stats.invalid ??= field;
    }
  }
}

/** Reads the stats fields of a final native chunk (`done: true`); unknown fields are ignored. */
export function statsFromOllama(object: Record<string, unknown>): GenerationStats {
  const stats: GenerationStats = {};
  if (typeof object.done_reason === "string") stats.doneReason = object.done_reason;
  readFields(object, OLLAMA_FIELDS, stats);
  return stats;
}

/**
 * Reads a `usage` object: OpenAI's (`prompt_tokens`, `completion_tokens`), or the Responses and
 * Anthropic Messages APIs' (`input_tokens`, `output_tokens`).
 */
export function statsFromUsage(usage: unknown): GenerationStats {
  const stats: GenerationStats = {};
  if (typeof usage !== "object" || usage === null) return stats;
  readFields(usage as Record<string, unknown>, USAGE_FIELDS, stats);
  return stats;
}

/** A stats field and its JSON value: a number of any form, a string, or a literal. */
const STATS_FIELD =
  /"(total_duration|load_duration|prompt_eval_count|prompt_eval_duration|eval_count|eval_duration|prompt_tokens|completion_tokens)":(-?[0-9][0-9.eE+-]*|"(?:[^"\\]|\\.)*"|true|false|null)/g;

/** The value of one JSON scalar as written; strings stay strings (and are then invalid). */
function scalar(text: string): unknown {
  if (text === "null") return null;
  if (text === "true" || text === "false" || text.startsWith('"')) return text;
  const value = Number(text);
  return Number.isNaN(value) ? text : value;
}

/**
 * Reads the stats fields from the tail of a JSON object too large to parse whole (a 60 MB
 * embedding). In compact JSON a quote inside a string is escaped, so `"name":123` matches only
 * real keys; Ollama writes its metrics (and OpenAI's `usage`) last, so the last match of each
 * name wins. Values are read whole (`1e308`, `1.5`, `"7"`) and checked like parsed ones.
 */
export function statsFromTail(tail: string): GenerationStats {
  const object: Record<string, unknown> = {};
  for (const match of tail.matchAll(STATS_FIELD)) object[match[1]!] = scalar(match[2]!);
  const reason = /"done_reason":"([a-z_]+)"/.exec(tail);
  if (reason) object.done_reason = reason[1];
  const usage = statsFromUsage(object);
  const native = statsFromOllama(object);
  const stats = { ...usage, ...native };
  const invalid = native.invalid ?? usage.invalid;
  if (invalid !== undefined) stats.invalid = invalid;
  return stats;
}
