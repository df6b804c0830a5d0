/**
 * Test helper: the `/metrics` series a set of answers must produce, by the issue #11 spec
 * (`notes/spec_11.md`), from each answer's {@linkcode WireFacts} (read from Ollama's own bytes),
 * and the same families read out of a scrape so the two compare exactly.
 *
 * Series are keyed `name{label="value",...}` with the labels sorted by name; series whose value
 * is 0 are left out on both sides (a counter that was never incremented and one incremented by 0
 * say the same).
 *
 * @module
 */

import { splitSeries } from "./exposition.ts";
import type { Durations, WireFacts } from "./wire_reference.ts";

/** Ollama's own durations: histograms whose `_sum` is exact too (whole nanoseconds). */
const DURATIONS: readonly (readonly [string, keyof Durations])[] = [
  ["ollama_total_duration_seconds", "total"],
  ["ollama_load_duration_seconds", "load"],
  ["ollama_prompt_eval_duration_seconds", "promptEval"],
  ["ollama_eval_duration_seconds", "eval"],
];

/** The families (or histogram `_count` / `_sum` series) compared exactly. */
const COMPARED = [
  "ollama_requests_total",
  "ollama_request_errors_total",
  "ollama_response_seconds_count",
  "ollama_time_to_first_token_seconds_count",
  "ollama_time_to_first_answer_seconds_count",
  "ollama_time_per_output_token_seconds_count",
  "ollama_tokens_processed_total",
  "ollama_tokens_generated_total",
  "ollama_tool_calls_total",
  "ollama_finished_generations_total",
  "ollama_model_load_requests_total",
  "ollama_tokens_per_second_count",
  "ollama_prompt_tokens_per_second_count",
  ...DURATIONS.flatMap(([name]) => [`${name}_count`, `${name}_sum`]),
];

/** The timing histograms whose `_sum` is only checked for sanity. */
const TIMINGS = [
  "ollama_response_seconds",
  "ollama_time_to_first_token_seconds",
  "ollama_time_to_first_answer_seconds",
  "ollama_time_per_output_token_seconds",
];

function escape(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** Orders entries by their key (plain code-unit order, as `Map` keys compare). */
function byKey([a]: [string, unknown], [b]: [string, unknown]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The series key: the name and the labels sorted by name, values escaped as rendered. */
function key(name: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels).sort(byKey).map(([label, value]) =>
    `${label}="${escape(value)}"`
  );
  return `${name}{${pairs.join(",")}}`;
}

/** Re-keys a rendered series whose values are already escaped. */
function rekey(series: string): { name: string; key: string } {
  const { name, labels } = splitSeries(series);
  const pairs = Object.entries(labels).sort(byKey).map(([label, value]) => `${label}="${value}"`);
  return { name, key: `${name}{${pairs.join(",")}}` };
}

/** A rendered label set (`{...}` or empty) with `le="+Inf"` added. */
function withLe(labels: string): string {
  return labels === "" ? '{le="+Inf"}' : `${labels.slice(0, -1)},le="+Inf"}`;
}

/** The expected series of one exporter's lifetime, built answer by answer. */
export class ExpectedMetrics {
  #series = new Map<string, number>();
  /** Duration sums in whole nanoseconds, turned into seconds only when read. */
  #nanoseconds = new Map<string, number>();

  /** Adds 1 (or `by`) to one series. */
  #add(name: string, labels: Record<string, string>, by = 1): void {
    if (by === 0) return;
    const series = key(name, labels);
    this.#series.set(series, (this.#series.get(series) ?? 0) + by);
  }

  /**
   * Adds what one proxied answer must add. `model` is the expected `model` label value
   * (normalised, `other`, or `""`), `code` the status the client got.
   */
  add(answer: { model: string; code: number; facts: WireFacts }): void {
    const { model, code, facts } = answer;
    const endpoint = facts.endpoint;
    const route = { model, endpoint };
    this.#add("ollama_requests_total", { ...route, code: String(code) });
    this.#add("ollama_response_seconds_count", route);
    if (code >= 400) {
      this.#add("ollama_request_errors_total", { ...route, reason: "upstream_error" });
    }
    if (facts.streamError) {
      this.#add("ollama_request_errors_total", { ...route, reason: "stream_error" });
    }
    this.#add("ollama_tokens_processed_total", { model }, facts.promptTokens ?? 0);
    this.#add("ollama_tokens_generated_total", { model }, facts.outputTokens ?? 0);
    if (facts.streaming) {
      if (facts.outputChunks >= 1) this.#add("ollama_time_to_first_token_seconds_count", route);
      if (facts.answerChunks >= 1) this.#add("ollama_time_to_first_answer_seconds_count", route);
      if (facts.outputChunks >= 2) this.#add("ollama_time_per_output_token_seconds_count", route);
    }
    this.#add("ollama_tool_calls_total", route, facts.toolCalls);
    if (facts.finishReason !== null) {
      this.#add("ollama_finished_generations_total", { ...route, reason: facts.finishReason });
    }
    if (code < 300 && (facts.rawReason === "load" || facts.rawReason === "unload")) {
      this.#add("ollama_model_load_requests_total", { model, action: facts.rawReason });
    }
    for (const [name, field] of DURATIONS) {
      const ns = facts.durations[field];
      if (ns === null) continue;
      this.#add(`${name}_count`, { model });
      const sum = key(`${name}_sum`, { model });
      this.#nanoseconds.set(sum, (this.#nanoseconds.get(sum) ?? 0) + ns);
    }
    const { outputTokens, promptTokens, durations } = facts;
    if (outputTokens && durations.eval) this.#add("ollama_tokens_per_second_count", { model });
    if (promptTokens && durations.promptEval) {
      this.#add("ollama_prompt_tokens_per_second_count", { model });
    }
  }

  /** The expected series of the compared families, sorted by key, zeros left out. */
  get series(): Map<string, number> {
    const all = [...this.#series];
    for (const [sum, ns] of this.#nanoseconds) if (ns !== 0) all.push([sum, ns / 1e9]);
    return new Map(all.sort(byKey));
  }

  /**
   * The compared families of a scrape (as `parseExposition` returns it), keyed and sorted like
   * {@linkcode ExpectedMetrics.series}, zeros left out.
   */
  static compared(samples: Map<string, number>): Map<string, number> {
    const found: [string, number][] = [];
    for (const [series, value] of samples) {
      const { name, key } = rekey(series);
      if (COMPARED.includes(name) && value !== 0) found.push([key, value]);
    }
    return new Map(found.sort(byKey));
  }

  /**
   * Sanity problems of the timing histograms in a scrape: a `_sum` below 0 or not finite, or a
   * `+Inf` bucket that differs from `_count`. Empty when all is well.
   */
  static timingProblems(samples: Map<string, number>): string[] {
    const all = new Map([...samples].map(([series, value]) => [rekey(series).key, value]));
    const problems: string[] = [];
    for (const [series, value] of samples) {
      const { name } = rekey(series);
      const family = TIMINGS.find((timing) => name === `${timing}_sum`);
      if (family === undefined) continue;
      if (!(Number.isFinite(value) && value >= 0)) problems.push(`${series} is ${value}`);
      const countKey = rekey(`${family}_count${series.slice(name.length)}`).key;
      const count = all.get(countKey);
      const inf = all.get(rekey(`${family}_bucket${withLe(series.slice(name.length))}`).key);
      if (count === undefined) problems.push(`${series} has no ${countKey}`);
      else if (inf !== count) problems.push(`${countKey} is ${count}, its +Inf bucket ${inf}`);
    }
    return problems;
  }
}
