/**
 * Server-sent events with an `event:` line, as Ollama's Anthropic and Responses layers write them.
 *
 * @module
 */

/** One SSE event: its name and its JSON text (Go struct or map order). */
export interface StreamEvent {
  /** The `event:` name (the data's `type`). */
  readonly event: string;
  /** The `data:` JSON text. */
  readonly json: string;
}

/** `event: <name>\ndata: <json>\n\n`; `json` is already encoded (Go struct or map order). */
export function sseEvent(name: string, json: string): string {
  return `event: ${name}\ndata: ${json}\n\n`;
}
