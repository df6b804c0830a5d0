/**
 * Bounded cardinality for the `model` label. A client sending random model names must not create
 * unbounded series, so a name becomes a label value only once Ollama has vouched for it (it lists
 * the model, or answered a request for it successfully), and only while fewer than `max` names
 * are admitted. Every other name is reported as `other`.
 *
 * @module
 */

import { normalizeModelName } from "./model_name.ts";

/** The label value used for models that are not (yet) admitted. */
export const OTHER_MODEL = "other";

/** The set of admitted model names, with a cap. */
export class ModelLabels {
  #admitted = new Set<string>();
  #max: number;

  /**
   * Creates an empty set; no name is admitted yet.
   *
   * @param options `max` caps how many names are admitted.
   */
  constructor(options: { max: number }) {
    this.#max = options.max;
  }

  /** How many names are admitted. */
  get size(): number {
    return this.#admitted.size;
  }

  /**
   * The label value for a normalised model name: the name when admitted, `""` for no name,
   * `other` otherwise.
   */
  label(model: string): string {
    if (model === "") return "";
    return this.#admitted.has(model) ? model : OTHER_MODEL;
  }

  /**
   * Admits a model name Ollama vouched for, if there is room; returns its label value afterwards.
   * The name is normalised first.
   */
  admit(name: string): string {
    // The proxy passes names it already normalised, and most are admitted by then.
    if (this.#admitted.has(name)) return name;
    const model = normalizeModelName(name);
    if (model === "") return "";
    if (!this.#admitted.has(model) && this.#admitted.size < this.#max) this.#admitted.add(model);
    return this.label(model);
  }
}
