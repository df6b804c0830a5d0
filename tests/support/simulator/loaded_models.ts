/**
 * The models the simulated server holds in memory, as /api/ps reports them.
 *
 * @module
 */

import type { ModelRecord } from "./describe_model.ts";
import { goTime } from "./go_time.ts";
import { keepAliveMs } from "./keep_alive.ts";
import { loadedContextLength } from "./model_context.ts";
import { type ProcessModel, processModel } from "./process_model.ts";

/** One entry of a fixed /api/ps answer (simulator option `loaded`). */
export interface LoadedModelSpec {
  readonly name: string;
  readonly size?: number;
  readonly size_vram?: number;
  /** RFC 3339 time; default: five minutes from the request. */
  readonly expires_at?: string;
  readonly context_length?: number;
}

interface Entry {
  readonly record: ModelRecord;
  readonly expiresAt: number;
  readonly contextLength: number;
}

/**
 * Tracks loaded models the way Ollama does: a generation, chat or embedding loads its model for
 * `keep_alive` (default 5 minutes) with the context length it asked for; `keep_alive: 0` unloads
 * it.
 */
export class LoadedModels {
  #entries = new Map<string, Entry>();

  /**
   * Records that a request used `record` at time `now` with the given `keep_alive`, the model
   * loaded with `contextLength` (default: the one it has, or Ollama's default for a new load).
   */
  touch(
    record: ModelRecord,
    options: { readonly keepAlive: unknown; readonly now: number; readonly contextLength?: number },
  ): void {
    const contextLength = options.contextLength ?? this.#entries.get(record.name)?.contextLength ??
      loadedContextLength(record.contextLength);
    this.#entries.delete(record.name);
    const keepFor = keepAliveMs(options.keepAlive);
    if (keepFor === 0) return;
    this.#entries.set(record.name, { record, expiresAt: options.now + keepFor, contextLength });
  }

  /** The context length the model named `name` (canonical) is loaded with at `now`, if loaded. */
  contextLength(name: string, now: number): number | undefined {
    const entry = this.#entries.get(name);
    return entry !== undefined && entry.expiresAt > now ? entry.contextLength : undefined;
  }

  /** Unloads the model named `name` (canonical). */
  unload(name: string): void {
    this.#entries.delete(name);
  }

  /** Forgets every loaded model. */
  clear(): void {
    this.#entries.clear();
  }

  /** Loaded models at time `now`, latest expiry first. */
  list(now: number): ProcessModel[] {
    const live = [...this.#entries.values()].filter((entry) => entry.expiresAt > now);
    live.sort((a, b) => b.expiresAt - a.expiresAt);
    return live.map(({ record, expiresAt, contextLength }) =>
      processModel(record, { expires_at: goTime(expiresAt), context_length: contextLength })
    );
  }
}
