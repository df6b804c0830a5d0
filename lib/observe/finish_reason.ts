/**
 * The `reason` label of `ollama_finished_generations_total`: why a generation ended, in one
 * vocabulary across Ollama's API families. Native `done_reason` and OpenAI `finish_reason` use it
 * already (`stop`, `length`, `tool_calls`, `load`, `unload`); Anthropic's `stop_reason` and the
 * Responses API's `status` are mapped onto it; anything else becomes `other`, so the label stays
 * bounded whatever a server sends.
 *
 * @module
 */

/** A normalised finish reason. */
export type FinishReason =
  | "stop"
  | "length"
  | "tool_calls"
  | "load"
  | "unload"
  | "error"
  | "other";

const NATIVE: ReadonlyMap<string, FinishReason> = new Map([
  ["stop", "stop"],
  ["length", "length"],
  ["tool_calls", "tool_calls"],
  ["load", "load"],
  ["unload", "unload"],
  // OpenAI's and Anthropic's names for the same ends.
  ["end_turn", "stop"],
  ["stop_sequence", "stop"],
  ["max_tokens", "length"],
  ["tool_use", "tool_calls"],
]);

/**
 * Normalises a native `done_reason`, an OpenAI `finish_reason` or an Anthropic `stop_reason`
 * (`end_turn` and `stop_sequence` → `stop`, `max_tokens` → `length`, `tool_use` →
 * `tool_calls`); anything else, including a value that is not a string, is `other`.
 */
export function finishReason(value: unknown): FinishReason {
  return (typeof value === "string" && NATIVE.get(value)) || "other";
}

/**
 * Normalises the `status` of an OpenAI Responses answer: `completed` → `stop`, `incomplete`
 * because of `max_output_tokens` → `length`, `failed` → `error`, anything else `other`.
 */
export function responsesFinishReason(status: unknown, incompleteReason?: unknown): FinishReason {
  if (status === "completed") return "stop";
  if (status === "failed") return "error";
  if (status === "incomplete" && incompleteReason === "max_output_tokens") return "length";
  return "other";
}
