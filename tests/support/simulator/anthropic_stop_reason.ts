/**
 * Ollama's mapping of a native `done_reason` to an Anthropic `stop_reason`.
 *
 * @module
 */

/**
 * `tool_use` after a tool call, else `stop` → `end_turn`, `length` → `max_tokens`, any other
 * non-empty reason → `stop_sequence`, "" → "" (then omitted).
 */
export function anthropicStopReason(reason: string, toolCalls: boolean): string {
  if (toolCalls) return "tool_use";
  if (reason === "stop") return "end_turn";
  if (reason === "length") return "max_tokens";
  return reason === "" ? "" : "stop_sequence";
}
