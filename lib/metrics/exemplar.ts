/**
 * Exemplars: a reference (typically a trace id) attached to one observation, which OpenMetrics
 * writes after the histogram bucket the observation fell in.
 *
 * @module
 */

import { escapeLabelValue } from "./escape.ts";

/**
 * An exemplar as the caller gives it to `HistogramChild.observe`.
 *
 * @example
 * ```ts
 * child.observe(0.42, { labels: { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736" } });
 * ```
 */
export interface Exemplar {
  /**
   * The exemplar's labels, for example `{ trace_id: "4bf9…" }`. Names follow the label name rules
   * (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`), values are strings, and names and values
   * together are at most {@link EXEMPLAR_MAX_RUNES} characters (code points), as OpenMetrics
   * requires. No labels at all is allowed.
   */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * When the observation was made, in milliseconds since the epoch (rounded to the millisecond);
   * `Date.now()` at the observation when absent.
   */
  readonly timestamp?: number;
}

/** An exemplar as a histogram keeps it, checked and rendered: what the encoders read. */
export interface ExemplarSnapshot {
  /** The escaped labels, `trace_id="4bf9…"`; `""` for an exemplar without labels. */
  readonly labelText: string;
  /** The observed value. */
  readonly value: number;
  /** Milliseconds since the epoch, a whole number. */
  readonly timestamp: number;
}

/**
 * The most characters (Unicode code points) the names and values of one exemplar's labels may
 * have together: OpenMetrics' limit, which Prometheus's exemplar storage enforces.
 */
export const EXEMPLAR_MAX_RUNES = 128;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const SURROGATE = /[\ud800-\udfff]/;

/** Label names already found valid (a handful in practice), so that most need no regex. */
const validNames = new Set<string>();
const MAX_VALID_NAMES = 64;

/**
 * Checks an exemplar and renders it for storage, or returns `undefined` when it cannot be kept:
 * it is not an object, a label name is invalid or starts with `__`, a value is not a string, the
 * labels have more than {@link EXEMPLAR_MAX_RUNES} characters together, or the timestamp is not a
 * finite number. Never throws, whatever it is given: the observation it came with must still be
 * counted.
 *
 * @param exemplar What the caller passed (unchecked: JavaScript callers may pass anything).
 * @param value The observed value, which becomes the exemplar's value.
 */
export function toExemplarSnapshot(exemplar: unknown, value: number): ExemplarSnapshot | undefined {
  if (typeof exemplar !== "object" || exemplar === null) return undefined;
  try {
    const { labels, timestamp } = exemplar as { labels?: unknown; timestamp?: unknown };
    let time: number;
    if (timestamp === undefined) time = Date.now();
    else if (typeof timestamp === "number" && timestamp - timestamp === 0) {
      time = Math.round(timestamp);
    } else return undefined;
    const labelText = renderLabels(labels);
    if (labelText === undefined) return undefined;
    return { labelText, value, timestamp: time };
  } catch {
    // A getter or proxy that throws: the exemplar is dropped like any other unusable one.
    return undefined;
  }
}

function renderLabels(labels: unknown): string | undefined {
  if (typeof labels !== "object" || labels === null) return undefined;
  let text = "";
  let runes = 0;
  for (const name of Object.keys(labels)) {
    const value = (labels as Record<string, unknown>)[name];
    if (typeof value !== "string" || !isValidName(name)) return undefined;
    runes += name.length + codePoints(value);
    if (runes > EXEMPLAR_MAX_RUNES) return undefined;
    text += (text === "" ? "" : ",") + name + '="' + escapeLabelValue(value) + '"';
  }
  return text;
}

function isValidName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (!LABEL_NAME.test(name) || name.startsWith("__")) return false;
  if (validNames.size < MAX_VALID_NAMES) validNames.add(name);
  return true;
}

/** The number of code points of `text`: UTF-16 units, less one per surrogate pair. */
function codePoints(text: string): number {
  let count = text.length;
  if (!SURROGATE.test(text)) return count;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}
