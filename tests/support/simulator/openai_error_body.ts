/**
 * The error object of Ollama's OpenAI compatibility layer.
 *
 * @module
 */

/**
 * `{"error":{"message","type","param":null,"code":null}}`, `type` picked from the status as
 * Ollama's `openai.NewError` does: 400 `invalid_request_error`, 404 `not_found_error`, else
 * `api_error`.
 */
export function openaiErrorBody(status: number, message: string): unknown {
  const type = status === 400
    ? "invalid_request_error"
    : status === 404
    ? "not_found_error"
    : "api_error";
  return { error: { message, type, param: null, code: null } };
}
