/**
 * The optional `client` label: who sent a request, from a configured header or from the name
 * of the API key it carried. Like `model`, its values are bounded: the first `max` distinct
 * values are kept, later ones are reported as `other`.
 *
 * @module
 */

import { cutText } from "./cut_text.ts";
import { OTHER_MODEL } from "./model_labels.ts";

/** Assigns bounded `client` label values. */
export class ClientLabels {
  #seen = new Set<string>();
  #max: number;

  /**
   * Creates an empty set of client labels.
   *
   * @param options `max` caps the distinct values.
   */
  constructor(options: { max: number }) {
    this.#max = options.max;
  }

  /** The label value for a client name (`""` for none). Names are cut to 64 characters. */
  label(name: string | null): string {
    if (name === null) return "";
    const value = cutText(name.trim(), 64);
    if (value === "") return "";
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.#max) return OTHER_MODEL;
    this.#seen.add(value);
    return value;
  }
}
