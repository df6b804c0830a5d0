/**
 * The installed models of the simulated server.
 *
 * @module
 */

import { canonicalModelName } from "./canonical_model_name.ts";
import { describeModel, type ModelRecord } from "./describe_model.ts";

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

  /** The installed model that `name` refers to (tag `latest` implied, case ignored), if any. */
  find(name: string): ModelRecord | undefined {
    if (name.trim() === "") return undefined;
    return this.#models.get(keyOf(name));
  }

  /** Installs `name` at `modifiedAt`, as a copy of `from` when given; returns the new record. */
  add(
    name: string,
    options: { readonly modifiedAt: number; readonly from?: ModelRecord | undefined },
  ): ModelRecord {
    const base = describeModel(name, options.modifiedAt);
    const record = options.from === undefined
      ? base
      : { ...options.from, name: base.name, modifiedAt: options.modifiedAt };
    this.#put(record);
    return record;
  }

  /** Uninstalls `name`; false when it was not installed. */
  remove(name: string): boolean {
    return this.#models.delete(keyOf(name));
  }

  /** Installed models, newest first (ties keep installation order). */
  list(): ModelRecord[] {
    return [...this.#models.values()].sort((a, b) => b.modifiedAt - a.modifiedAt);
  }

  #put(record: ModelRecord): void {
    this.#models.delete(keyOf(record.name));
    this.#models.set(keyOf(record.name), record);
  }
}

function keyOf(name: string): string {
  return canonicalModelName(name).toLowerCase();
}
