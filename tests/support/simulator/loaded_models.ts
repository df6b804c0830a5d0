/**
 * What /api/ps reports: the models the simulated server holds in memory.
 *
 * @module
 */

import { goTime } from "./go_time.ts";
import { isUnload, keepAliveMs } from "./keep_alive.ts";
import { describeModel, type ModelDetails, type ModelRecord } from "./model_catalog.ts";

/** One entry of a fixed /api/ps answer (simulator option `loaded`). */
export interface LoadedModelSpec {
  readonly name: string;
  readonly size?: number;
  readonly size_vram?: number;
  /** RFC 3339 time; default: five minutes from the request. */
  readonly expires_at?: string;
  readonly context_length?: number;
}

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
 * Tracks loaded models the way Ollama does: a generation, chat or embedding loads its model for
 * `keep_alive` (default 5 minutes); `keep_alive: 0` unloads it.
 */
export class LoadedModels {
  #entries = new Map<string, { record: ModelRecord; expiresAt: number }>();

  /** Records that a request used `record` with the given `keep_alive` at time `now`. */
  touch(record: ModelRecord, keepAlive: unknown, now: number): void {
    this.#entries.delete(record.name);
    if (isUnload(keepAlive)) return;
    this.#entries.set(record.name, { record, expiresAt: now + keepAliveMs(keepAlive) });
  }

  /** Forgets every loaded model. */
  clear(): void {
    this.#entries.clear();
  }

  /** Loaded models at time `now`, latest expiry first. */
  list(now: number): ProcessModel[] {
    const live = [...this.#entries.values()].filter((entry) => entry.expiresAt > now);
    live.sort((a, b) => b.expiresAt - a.expiresAt);
    return live.map(({ record, expiresAt }) =>
      processModel(record, { expires_at: goTime(expiresAt) })
    );
  }
}

/** /api/ps entries for a fixed `loaded` configuration; unknown names get generated metadata. */
export function fixedProcessModels(
  specs: readonly LoadedModelSpec[],
  find: (name: string) => ModelRecord | undefined,
  now: number,
): ProcessModel[] {
  return specs.map((spec) => {
    const record = find(spec.name) ?? describeModel(spec.name, now);
    return processModel(record, {
      ...spec,
      expires_at: spec.expires_at ?? goTime(now + 5 * 60_000),
    });
  });
}

function processModel(
  record: ModelRecord,
  overrides: Omit<LoadedModelSpec, "name"> & { readonly expires_at: string },
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
