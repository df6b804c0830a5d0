/**
 * What an Ollama endpoint does, for the endpoints that run a model: `chat`, `text_completion` or
 * `embeddings` — the `gen_ai.operation.name` values of the OpenTelemetry GenAI semantic
 * conventions. One table for every rule that depends on it: which answers are generations
 * (`ollama_finished_generations_total`, context usage), which requests take one of a model's
 * parallel slots (all of them; an embedding model has one), and the operation of the GenAI metrics
 * and spans.
 *
 * @module
 */

/** What an endpoint that runs a model does. */
export type InferenceOperation = "chat" | "text_completion" | "embeddings";

const OPERATIONS: ReadonlyMap<string, InferenceOperation> = new Map([
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
 * The operation of an `endpoint` label value, or `undefined` for the endpoints that run no model
 * (`/api/tags`, `/api/pull`, …).
 */
export function endpointOperation(endpoint: string): InferenceOperation | undefined {
  return OPERATIONS.get(endpoint);
}
