/**
 * The installed models of the simulated server and their metadata.
 *
 * @module
 */

import { modelDimensions } from "./expected_embedding.ts";
import { canonicalModelName, modelKey } from "./model_name.ts";
import { seededRandom } from "./seeded_random.ts";
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

/** Everything the simulator knows about one installed model. */
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

/** modified_at of the first configured model; later ones are one hour older each. */
const BASE_MODIFIED_AT = Date.UTC(2025, 5, 1, 12, 0, 0);

/** The set of installed models; /api/tags lists them newest first. */
export class ModelCatalog {
  #models = new Map<string, ModelRecord>();

  /** Installs `names` (configured order = listing order). */
  constructor(names: readonly string[]) {
    this.replace(names);
  }

  /** Replaces every installed model by `names`. */
  replace(names: readonly string[]): void {
    this.#models.clear();
    names.forEach((name, index) => {
      this.#put(describeModel(name, BASE_MODIFIED_AT - index * 3_600_000));
    });
  }

  /** The installed model that `name` refers to (tag `latest` implied), if any. */
  find(name: string): ModelRecord | undefined {
    if (name.trim() === "") return undefined;
    return this.#models.get(modelKey(name));
  }

  /** Installs `name` (a copy of `from` when given) with `modifiedAt`; returns the new record. */
  add(name: string, modifiedAt: number, from?: ModelRecord): ModelRecord {
    const base = describeModel(name, modifiedAt);
    const record = from === undefined ? base : { ...from, name: base.name, modifiedAt };
    this.#put(record);
    return record;
  }

  /** Uninstalls `name`; false when it was not installed. */
  remove(name: string): boolean {
    return this.#models.delete(modelKey(name));
  }

  /** Installed models, newest first (ties keep installation order). */
  list(): ModelRecord[] {
    return [...this.#models.values()].sort((a, b) => b.modifiedAt - a.modifiedAt);
  }

  #put(record: ModelRecord): void {
    this.#models.delete(modelKey(record.name));
    this.#models.set(modelKey(record.name), record);
  }
}

/** Deterministic metadata of a model called `name`. */
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

/** 64 hex digits derived from `seed`. */
export function hexDigest(seed: number): string {
  const random = seededRandom(seed);
  let hex = "";
  while (hex.length < 64) hex += Math.floor(random() * 0x100000000).toString(16).padStart(8, "0");
  return hex.slice(0, 64);
}
