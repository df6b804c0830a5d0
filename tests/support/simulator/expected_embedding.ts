/**
 * What the simulator answers to an embedding request, computed without a server.
 *
 * @module
 */

import { componentIndex, COMPONENTS } from "./embedding_components.ts";
import { modelDimensions } from "./model_dimensions.ts";
import { stringHash } from "./string_hash.ts";
import { resolveTimings, type Timings } from "./timings.ts";
import { wordCount } from "./word_count.ts";

/** Tokens added to every embedded input (BOS and EOS) on top of its words. */
export const EMBED_EXTRA_TOKENS = 2;

/** Knobs of the computed embedding; the simulator passes its own configuration here. */
export interface ExpectedEmbeddingOptions {
  /** Request field `dimensions`: truncates each vector when smaller than the model's length. */
  readonly dimensions?: number;
  /** Simulator option `embedDimensions`: overrides every model's embedding length. */
  readonly embedDimensions?: number;
  /** Duration constants (simulator option `timings`). */
  readonly timings?: Partial<Timings>;
}

/** The exact answer the simulator gives to one embedding request. */
export interface ExpectedEmbedding {
  readonly model: string;
  /** Number of vectors (one per non-empty input list entry). */
  readonly count: number;
  /** Length of every vector. */
  readonly dimensions: number;
  /** Component `j` of vector `i`, without building the vector. */
  component(i: number, j: number): number;
  /** Vector `i` in full. */
  vector(i: number): number[];
  /** All vectors; built on access, so avoid it for huge responses. */
  readonly embeddings: number[][];
  /** /api/embed metrics under their wire names (zero values are omitted on the wire). */
  readonly metrics: {
    readonly total_duration: number;
    readonly load_duration: number;
    readonly prompt_eval_count: number;
  };
  /** /v1/embeddings usage. */
  readonly usage: { readonly prompt_tokens: number; readonly total_tokens: number };
}

/**
 * Computes the embeddings of `input` (a string or a list of strings, as /api/embed takes them).
 *
 * - vector length = `dimensions` if given and smaller, else `embedDimensions`, else the model's
 *   (llama3.2 3072, qwen2.5:0.5b 896, nomic-embed-text 768, others 768);
 * - components are `k/64` values derived from a hash of the input text;
 * - `prompt_eval_count` = sum over inputs of (words + 2);
 * - `load_duration` = `loadNs`; `total_duration` = `loadNs + prompt_eval_count *
 *   promptNsPerToken + overheadNs`.
 *
 * A lone empty string (not in a list) yields no vectors and no metrics, like Ollama.
 */
export function expectedEmbedding(
  model: string,
  input: string | readonly string[],
  options: ExpectedEmbeddingOptions = {},
): ExpectedEmbedding {
  const inputs = typeof input === "string" ? (input === "" ? [] : [input]) : [...input];
  const full = modelDimensions(model, { embedDimensions: options.embedDimensions });
  const dimensions = options.dimensions !== undefined && options.dimensions > 0 &&
      options.dimensions < full
    ? options.dimensions
    : full;
  const hashes = inputs.map((text) => stringHash(text));
  const promptEvalCount = inputs.length === 0
    ? 0
    : inputs.reduce((sum, text) => sum + wordCount(text) + EMBED_EXTRA_TOKENS, 0);
  const timings = resolveTimings(options.timings);
  const component = (i: number, j: number): number => {
    const hash = hashes[i];
    if (hash === undefined || j < 0 || j >= dimensions) {
      throw new RangeError(
        `Cannot read component ${j} of vector ${i}: there are ${hashes.length} vectors of ` +
          `${dimensions} components`,
      );
    }
    return COMPONENTS[componentIndex(hash, j)] ?? 0;
  };
  const vector = (i: number): number[] =>
    Array.from({ length: dimensions }, (_, j) => component(i, j));
  const empty = inputs.length === 0;
  return {
    model,
    count: inputs.length,
    dimensions,
    component,
    vector,
    get embeddings() {
      return inputs.map((_, i) => vector(i));
    },
    metrics: {
      total_duration: empty ? 0 : timings.loadNs +
        promptEvalCount * timings.promptNsPerToken + timings.overheadNs,
      load_duration: empty ? 0 : timings.loadNs,
      prompt_eval_count: promptEvalCount,
    },
    usage: { prompt_tokens: promptEvalCount, total_tokens: promptEvalCount },
  };
}
