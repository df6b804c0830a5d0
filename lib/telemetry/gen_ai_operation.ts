/**
 * Which GenAI operation (`gen_ai.operation.name` of the OpenTelemetry GenAI semantic conventions)
 * an Ollama endpoint performs.
 *
 * @module
 */

/** The GenAI operations Ollama's endpoints perform. */
export type GenAiOperation = "chat" | "text_completion" | "embeddings";

const OPERATIONS: ReadonlyMap<string, GenAiOperation> = new Map([
  ["/api/chat", "chat"],
  ["/v1/chat/completions", "chat"],
  ["/v1/messages", "chat"],
  ["/v1/responses", "chat"],
  ["/api/generate", "text_completion"],
  ["/v1/completions", "text_completion"],
  ["/api/embed", "embeddings"],
  ["/api/embeddings", "embeddings"],
  ["/v1/embeddings", "embeddings"],
]);

/**
 * The GenAI operation of an `endpoint` label value, or `undefined` for the endpoints that are not
 * inference (`/api/tags`, `/api/pull`, …).
 */
export function genAiOperation(endpoint: string): GenAiOperation | undefined {
  return OPERATIONS.get(endpoint);
}
