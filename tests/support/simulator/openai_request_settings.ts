/**
 * The fields of an OpenAI-compatible generation request that change the answer's shape.
 *
 * @module
 */

/** What an OpenAI-compatible request asks for besides model and input. */
export interface OpenAiRequestSettings {
  /** `stream === true` (the OpenAI endpoints default to not streaming). */
  readonly stream: boolean;
  /** `stream_options.include_usage === true`. */
  readonly includeUsage: boolean;
  /** `max_tokens`, which Ollama maps to `num_predict` (it ignores `max_completion_tokens`). */
  readonly numPredict: number | undefined;
}

/** Reads {@link OpenAiRequestSettings} from a decoded request body. */
export function openAiRequestSettings(
  body: Readonly<Record<string, unknown>>,
): OpenAiRequestSettings {
  const streamOptions = body["stream_options"];
  const includeUsage = streamOptions !== null && typeof streamOptions === "object" &&
    (streamOptions as Record<string, unknown>)["include_usage"] === true;
  const value = body["max_tokens"];
  const numPredict = typeof value === "number" && Number.isFinite(value) ? value : undefined;
  return { stream: body["stream"] === true, includeUsage, numPredict };
}
