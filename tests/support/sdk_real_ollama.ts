/**
 * Test helper for the SDK tests (`tests/sdk_*_test.ts`) and the other real-Ollama tests: a real
 * Ollama with a fresh exporter in front of it, a `fetch` that records where an SDK sent its requests, answers made comparable
 * (per-response ids and clocks blanked) and the exporter's per-model series read whole, so a test
 * can assert every series of a family at once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ExporterHarness } from "./exporter_harness.ts";
import { splitSeries, unescapeLabel } from "./exposition.ts";
import { type RealOllama, startRealOllama } from "./real_ollama.ts";

/** How {@linkcode withRealOllama} starts the real Ollama and the exporter. */
export interface RealOllamaExporterOptions {
  /** Variables of the exporter's environment. */
  readonly env?: Record<string, string>;
  /** A server of our own, even when `OLLAMA_TEST_URL` names one. */
  readonly own?: boolean;
  /** The exporter's upstream (default: the real Ollama's URL). */
  readonly upstream?: (real: RealOllama) => string;
}

/**
 * Runs `body` with a real Ollama and a fresh exporter (its own registry, so every count starts at
 * zero) in front of it; closes both afterwards, whatever happens.
 */
export async function withRealOllama(
  options: RealOllamaExporterOptions,
  body: (real: RealOllama, h: ExporterHarness) => Promise<void>,
): Promise<void> {
  const real = await startRealOllama(options.own ? { own: true } : {});
  try {
    const h = await ExporterHarness.start({
      upstream: options.upstream?.(real) ?? real.url,
      env: options.env ?? {},
    });
    try {
      await body(real, h);
    } finally {
      await h.close();
    }
  } finally {
    await real.close();
  }
}

/** {@linkcode withRealOllama} with the defaults: a shared Ollama, the exporter in front of it. */
export function withRealOllamaExporter(
  body: (real: RealOllama, h: ExporterHarness) => Promise<void>,
): Promise<void> {
  return withRealOllama({}, body);
}

/** A `fetch` for an SDK's `fetch` option that records the path and query of every request. */
export function recordingFetch(): { fetch: typeof fetch; paths: string[] } {
  const paths: string[] = [];
  const recording: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const parsed = new URL(url);
    paths.push(parsed.pathname + parsed.search);
    return fetch(input, init);
  };
  return { fetch: recording, paths };
}

/** Keys whose values differ per response (random ids, clocks); {@linkcode comparable} blanks them. */
const PER_RESPONSE_KEYS = new Set(["id", "call_id", "item_id", "created_at", "completed_at"]);

/**
 * A deep copy of `value` (an SDK's answer or event) with per-response ids and clocks replaced by
 * `"*"`, so the same greedy (`temperature: 0`) request compares equal whether it went to Ollama
 * directly or through the exporter.
 */
export function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map((
        [key, inner],
      ) => [key, PER_RESPONSE_KEYS.has(key) && inner !== null ? "*" : comparable(inner)]),
    );
  }
  return value;
}

/** Samples (`name{labels}` as rendered, to value) as {@linkcode ExporterHarness.scrape} returns. */
type Samples = Map<string, number>;

/**
 * Every non-zero series of family `name` whose `model` label is `model`, keyed by its other labels
 * sorted by name (`code=200,endpoint=/v1/messages`; `""` for none). Zero-valued series are left
 * out, so a series created at zero and an absent one compare alike.
 */
export function seriesOf(samples: Samples, name: string, model: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const [key, value] of samples) {
    const series = splitSeries(key);
    const modelLabel = series.labels.model;
    if (series.name !== name || value === 0) continue;
    if (modelLabel === undefined || unescapeLabel(modelLabel) !== model) continue;
    const rest = Object.entries(series.labels).filter(([label]) => label !== "model")
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .map(([label, labelValue]) => `${label}=${unescapeLabel(labelValue)}`).join(",");
    found[rest] = value;
  }
  return found;
}

/** The families {@linkcode assertMetrics} compares whole. */
export const CHECKED_FAMILIES: readonly string[] = [
  "ollama_requests_total",
  "ollama_response_seconds_count",
  "ollama_request_errors_total",
  "ollama_tokens_processed_total",
  "ollama_tokens_generated_total",
  "ollama_tool_calls_total",
  "ollama_finished_generations_total",
  "ollama_time_to_first_token_seconds_count",
  "ollama_time_to_first_answer_seconds_count",
  "ollama_time_per_output_token_seconds_count",
];

/**
 * Waits until the exporter has recorded every finished request, scrapes it, and asserts each of
 * {@linkcode CHECKED_FAMILIES} for `model` equals `expected` (a family left out: no non-zero
 * series). Every mismatch is reported at once, one line per family.
 */
export async function assertMetrics(
  h: ExporterHarness,
  model: string,
  expected: Record<string, Record<string, number>>,
): Promise<void> {
  await h.settle();
  const samples = await h.scrape();
  const wrong: string[] = [];
  for (const family of CHECKED_FAMILIES) {
    const got = seriesOf(samples, family, model);
    const want = expected[family] ?? {};
    try {
      assert.deepEqual(got, want);
    } catch {
      wrong.push(
        `${family}{model="${model}"}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`,
      );
    }
  }
  for (const family of Object.keys(expected)) {
    assert.ok(CHECKED_FAMILIES.includes(family), `unchecked family ${family}`);
  }
  assert.equal(wrong.length, 0, `metrics differ from the spec:\n${wrong.join("\n")}`);
}
