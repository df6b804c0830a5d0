/**
 * What Ollama reports about one generation, read from the final chunk of a native response
 * (durations in integer nanoseconds) or from an OpenAI-style `usage` object.
 *
 * @module
 */

/** Token counts and Ollama's own durations (nanoseconds) for one request; absent when not sent. */
export interface GenerationStats {
  doneReason?: string;
  promptTokens?: number;
  outputTokens?: number;
  totalDurationNs?: number;
  loadDurationNs?: number;
  promptEvalDurationNs?: number;
  evalDurationNs?: number;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Reads the stats fields of a final native chunk (`done: true`); unknown fields are ignored. */
export function statsFromOllama(object: Record<string, unknown>): GenerationStats {
  const stats: GenerationStats = {};
  if (typeof object.done_reason === "string") stats.doneReason = object.done_reason;
  const fields: [keyof GenerationStats, string][] = [
    ["promptTokens", "prompt_eval_count"],
    ["outputTokens", "eval_count"],
    ["totalDurationNs", "total_duration"],
    ["loadDurationNs", "load_duration"],
    ["promptEvalDurationNs", "prompt_eval_duration"],
    ["evalDurationNs", "eval_duration"],
  ];
  for (const [key, field] of fields) {
    const value = count(object[field]);
    if (value !== undefined) (stats[key] as number) = value;
  }
  return stats;
}

/** Reads an OpenAI `usage` object (`prompt_tokens`, `completion_tokens`). */
export function statsFromUsage(usage: unknown): GenerationStats {
  const stats: GenerationStats = {};
  if (typeof usage !== "object" || usage === null) return stats;
  const record = usage as Record<string, unknown>;
  const prompt = count(record.prompt_tokens);
  const output = count(record.completion_tokens);
  if (prompt !== undefined) stats.promptTokens = prompt;
  if (output !== undefined) stats.outputTokens = output;
  return stats;
}

const NUMBER_FIELD =
  /"(total_duration|load_duration|prompt_eval_count|prompt_eval_duration|eval_count|eval_duration|prompt_tokens|completion_tokens)":(\d+)/g;

/**
 * Reads the stats fields from the tail of a JSON object too large to parse whole (a 60 MB
 * embedding). In compact JSON a quote inside a string is escaped, so `"name":123` matches only
 * real keys; Ollama writes its metrics (and OpenAI's `usage`) last, so the last match of each
 * name wins.
 */
export function statsFromTail(tail: string): GenerationStats {
  const object: Record<string, unknown> = {};
  for (const match of tail.matchAll(NUMBER_FIELD)) object[match[1]!] = Number(match[2]);
  const reason = /"done_reason":"([a-z_]+)"/.exec(tail);
  if (reason) object.done_reason = reason[1];
  return { ...statsFromUsage(object), ...statsFromOllama(object) };
}
