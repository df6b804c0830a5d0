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
  /**
   * `completion` (and `tools`, `thinking`) for generative models, `embedding` for embedding
   * models. A `thinking` model thinks before it answers unless the request says `think: false`.
   */
  readonly capabilities: readonly string[];
  /**
   * A scripted tool caller like the real `tiny-tools`: it always answers the same call,
   * `get_weather({"city":"Paris"})`, in three text tokens and an end token.
   */
  readonly callsTool: boolean;
  readonly contextLength: number;
  readonly embeddingLength: number;
  readonly parameterCount: number;
}

interface ModelSpec {
  readonly size: number;
  readonly callsTool?: boolean;
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
  "qwen3:0.6b": {
    size: 522653767,
    family: "qwen3",
    parameterSize: "751.63M",
    quantization: "Q4_K_M",
    capabilities: ["completion", "tools", "thinking"],
    contextLength: 40960,
    parameterCount: 751632384,
  },
  "tiny:latest": {
    size: 569005,
    family: "llama",
    parameterSize: "138K",
    quantization: "unknown",
    capabilities: ["completion", "tools"],
    contextLength: 2048,
    parameterCount: 138496,
  },
  "tiny-think:latest": {
    size: 569384,
    family: "llama",
    parameterSize: "138K",
    quantization: "unknown",
    capabilities: ["completion", "tools", "thinking"],
    contextLength: 2048,
    parameterCount: 138496,
  },
  "tiny-tools:latest": {
    size: 569613,
    family: "llama",
    parameterSize: "139K",
    quantization: "unknown",
    capabilities: ["completion", "tools"],
    contextLength: 2048,
    parameterCount: 138752,
    callsTool: true,
  },
  "tiny-embed:latest": {
    size: 452328,
    family: "bert",
    parameterSize: "112K",
    quantization: "unknown",
    capabilities: ["embedding"],
    contextLength: 512,
    parameterCount: 112128,
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
 * default models, `qwen3:0.6b` (thinking) and the real test server's `tiny`, `tiny-think`
 * (thinking), `tiny-tools` (scripted tool caller) and `tiny-embed`; for any other name a
 * generative llama-family model with a size and digest derived from the name: an embedding model
 * when the name contains `embed`, a thinking model when it contains `think`, a scripted tool
 * caller when it contains `tools`.
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
    callsTool: spec.callsTool === true,
    contextLength: spec.contextLength,
    embeddingLength: modelDimensions(canonical),
    parameterCount: spec.parameterCount,
  };
}

function fallbackSpec(name: string, hash: number): ModelSpec {
  const lower = name.toLowerCase();
  const embedding = lower.includes("embed");
  const thinking = lower.includes("think");
  const tools = thinking || lower.includes("tools");
  const generative = ["completion", ...(tools ? ["tools"] : []), ...(thinking ? ["thinking"] : [])];
  return {
    size: 1_000_000_000 + (hash % 1_000_000_000),
    family: embedding ? "bert" : "llama",
    parameterSize: embedding ? "335M" : "1B",
    quantization: embedding ? "F16" : "Q4_K_M",
    capabilities: embedding ? ["embedding"] : generative,
    callsTool: !embedding && lower.includes("tools"),
    contextLength: embedding ? 512 : 4096,
    parameterCount: embedding ? 334_000_000 : 1_000_000_000,
  };
}
