/**
 * One entry of /api/ps.
 *
 * @module
 */

import type { ModelDetails, ModelRecord } from "./describe_model.ts";

/** One /api/ps entry in Go field order. */
export interface ProcessModel {
  readonly name: string;
  readonly model: string;
  readonly size: number;
  readonly digest: string;
  readonly details: ModelDetails;
  readonly expires_at: string;
  readonly size_vram: number;
  readonly context_length: number;
}

/** Context length a model is loaded with by default (capped by what the model supports). */
export const DEFAULT_CONTEXT_LENGTH = 4096;

/**
 * The /api/ps entry of a loaded `record`: its size fully in VRAM and the default context length,
 * unless `overrides` say otherwise.
 */
export function processModel(
  record: ModelRecord,
  overrides: {
    readonly expires_at: string;
    readonly size?: number;
    readonly size_vram?: number;
    readonly context_length?: number;
  },
): ProcessModel {
  const size = overrides.size ?? record.size;
  return {
    name: record.name,
    model: record.name,
    size,
    digest: record.digest,
    details: record.details,
    expires_at: overrides.expires_at,
    size_vram: overrides.size_vram ?? size,
    context_length: overrides.context_length ??
      Math.min(DEFAULT_CONTEXT_LENGTH, record.contextLength),
  };
}
