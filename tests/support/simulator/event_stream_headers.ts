/**
 * Headers of Ollama's Anthropic and Responses streams.
 *
 * @module
 */

/**
 * `Cache-Control: no-cache` and `Connection: keep-alive`: the `/v1/messages` and `/v1/responses`
 * middlewares set them on a streaming request before the handler runs, so they are on its
 * errors too.
 */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "cache-control": "no-cache",
  connection: "keep-alive",
});
