/**
 * The context length a model is loaded with, as Ollama v0.24 picks it.
 *
 * @module
 */

import { DEFAULT_CONTEXT_LENGTH } from "./process_model.ts";

/** The smallest context Ollama's scheduler loads a model with (`opts.NumCtx < 4` becomes 4). */
export const MIN_CONTEXT_LENGTH = 4;

/**
 * The context length (`num_ctx`, as `/api/ps` reports it in `context_length`) a model trained for
 * `trained` tokens is loaded with for a request asking `numCtx` (`options.num_ctx`; absent:
 * Ollama's default {@link DEFAULT_CONTEXT_LENGTH}, its choice without a GPU): at least
 * {@link MIN_CONTEXT_LENGTH}, at most the trained length (Ollama lowers a larger request to it).
 */
export function loadedContextLength(trained: number, numCtx?: number): number {
  const wanted = numCtx === undefined
    ? DEFAULT_CONTEXT_LENGTH
    : Math.max(MIN_CONTEXT_LENGTH, Math.trunc(numCtx));
  return trained > 0 ? Math.min(wanted, trained) : wanted;
}
