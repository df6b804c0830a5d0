/**
 * Embedding length of each simulated model.
 *
 * @module
 */

import { canonicalModelName } from "./canonical_model_name.ts";

/** Fallback embedding length of a model the simulator has no spec for. */
export const DEFAULT_EMBED_DIMENSIONS = 768;

const MODEL_DIMENSIONS: Readonly<Record<string, number>> = {
  "llama3.2:latest": 3072,
  "qwen2.5:0.5b": 896,
  "nomic-embed-text:latest": 768,
};

/**
 * Embedding length for `model`: `embedDimensions` when given (simulator option), else
 * llama3.2 3072, qwen2.5:0.5b 896, nomic-embed-text 768, any other model 768.
 */
export function modelDimensions(
  model: string,
  options: { readonly embedDimensions?: number | undefined } = {},
): number {
  if (options.embedDimensions !== undefined) return options.embedDimensions;
  return MODEL_DIMENSIONS[canonicalModelName(model).toLowerCase()] ?? DEFAULT_EMBED_DIMENSIONS;
}
