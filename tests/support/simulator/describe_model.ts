/**
 * Deterministic metadata of a simulated model.
 *
 * @module
 */

import { canonicalModelName } from "./canonical_model_name.ts";
import { hexDigest } from "./hex_digest.ts";
import { modelDimensions } from "./model_dimensions.ts";
import { stringHash } from "./string_hash.ts";

/** `details` of a model, in Go field order. */
export interface ModelDetails {
  readonly parent_model: string;
  readonly format: string;
  readonly family: string;
  readonly families: readonly string[];
  readonly parameter_size: string;
  readonly quantization_level: string;
}

/** Everything the simulator knows about one model. */
export interface ModelRecord {
  /** Canonical display name, e.g. `llama3.2:latest`. */
  readonly name: string;
  readonly size: number;
  /** 64 hex digits, without the `sha256:` prefix. */
  readonly digest: string;
  /** Milliseconds since the epoch. */
  readonly modifiedAt: number;
  readonly details: ModelDetails;
  /** `completion` (and `tools`) for generative models, `embedding` for embedding models. */
  readonly capabilities: readonly string[];
  readonly contextLength: number;
  readonly embeddingLength: number;
  readonly parameterCount: number;
}

interface ModelSpec {
  readonly size: number;
  readonly family: string;
  readonly parameterSize: string;
  readonly quantization: string;
  readonly capabilities: readonly string[];
  readonly contextLength: number;
  readonly parameterCount: number;
}

const KNOWN_SPECS: Readonly<Record<string, ModelSpec>> = {
  "llama3.2:latest": {
    size: 2019393189,
    family: "llama",
    parameterSize: "3.2B",
    quantization: "Q4_K_M",
    capabilities: ["completion", "tools"],
    contextLength: 131072,
    parameterCount: 3212749888,
  },
  "qwen2.5:0.5b": {
    size: 397821319,
    family: "qwen2",
    parameterSize: "494.03M",
    quantization: "Q4_K_M",
    capabilities: ["completion", "tools"],
    contextLength: 32768,
    parameterCount: 494032768,
  },
  "nomic-embed-text:latest": {
    size: 274302450,
    family: "nomic-bert",
    parameterSize: "137M",
    quantization: "F16",
    capabilities: ["embedding"],
    contextLength: 2048,
    parameterCount: 136727040,
  },
};

/**
 * Metadata of a model called `name`, modified at `modifiedAt`: the real figures for the three
 * default models; for any other name a generative llama-family model (an embedding model when the
 * name contains `embed`) with a size and digest derived from the name.
 */
export function describeModel(name: string, modifiedAt: number): ModelRecord {
  const canonical = canonicalModelName(name);
  const hash = stringHash(canonical);
  const spec = KNOWN_SPECS[canonical.toLowerCase()] ?? fallbackSpec(canonical, hash);
  return {
    name: canonical,
    size: spec.size,
    digest: hexDigest(hash),
    modifiedAt,
    details: {
      parent_model: "",
      format: "gguf",
      family: spec.family,
      families: [spec.family],
      parameter_size: spec.parameterSize,
      quantization_level: spec.quantization,
    },
    capabilities: spec.capabilities,
    contextLength: spec.contextLength,
    embeddingLength: modelDimensions(canonical),
    parameterCount: spec.parameterCount,
  };
}

function fallbackSpec(name: string, hash: number): ModelSpec {
  const embedding = name.toLowerCase().includes("embed");
  return {
    size: 1_000_000_000 + (hash % 1_000_000_000),
    family: embedding ? "bert" : "llama",
    parameterSize: embedding ? "335M" : "1B",
    quantization: embedding ? "F16" : "Q4_K_M",
    capabilities: embedding ? ["embedding"] : ["completion"],
    contextLength: embedding ? 512 : 4096,
    parameterCount: embedding ? 334_000_000 : 1_000_000_000,
  };
}
