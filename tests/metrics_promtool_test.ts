/**
 * The exposition checked by the real Prometheus tools.
 *
 * - Text 0.0.4 goes through `promtool check metrics` (stdin) and must come out lint-clean.
 * - OpenMetrics also goes through `promtool check metrics`, but that command only knows the text
 *   format: it reads `# TYPE foo counter` + `foo_total 1` as an untyped family `foo_total` without
 *   HELP, and stops at the `\"` that OpenMetrics (only) allows in HELP. So that body comes from a
 *   registry without double quotes in HELP, and exactly the counter complaints are expected; any
 *   other one fails the test. Then the
 *   OpenMetrics body is parsed by Prometheus's own OpenMetrics parser (`promtool tsdb
 *   create-blocks-from openmetrics`, which rejects any syntax error and needs a timestamp on every
 *   sample, so one is appended) and the stored series, read back with `promtool tsdb dump`, must
 *   be exactly the registry's, label values with quotes, backslashes, newlines and unicode
 *   included. Its histogram buckets carry exemplars (trace ids, awkward label values, one of exactly
 *   128 code points), which that parser must read too (`check metrics` cannot: its text parser
 *   stops at an exemplar, so the body it gets has none).
 *
 * Without promtool these tests fail: install it with `apt-get install prometheus`.
 */

import { runPromtool } from "./support/promtool.ts";
import assert from "node:assert/strict";
import { formatBucketBound } from "../lib/metrics/format_bucket_bound.ts";
import type { FamilySnapshot } from "../lib/metrics/metric_family.ts";
import { encodeOpenMetrics } from "../lib/metrics/open_metrics_format.ts";
import { registerProcessMetrics } from "../lib/metrics/process_metrics.ts";
import { Registry } from "../lib/metrics/registry.ts";
import { encodeText } from "../lib/metrics/text_format.ts";

const WEIRD_VALUES = [
  "llama3.2:latest",
  'evil"quote"',
  "back\\slash",
  "ends with a backslash\\",
  "new\nline",
  "tab\there",
  "ünïcödé 日本語 😀",
  "{braces}=,commas,",
  "",
  "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
];

const TIMESTAMP_SECONDS = 1_700_000_000;

function promtool(args: string[], stdin?: string): Promise<{ code: number; output: string }> {
  return runPromtool(args, {
    purpose: "check the exposition",
    ...(stdin === undefined ? {} : { stdin }),
  });
}

/**
 * A registry shaped like the exporter's, full of awkward label values, its histograms observed
 * with exemplars. `quotesInHelp: false` keeps double quotes out of the HELP texts and
 * `exemplars: false` leaves the exemplars out, for feeding OpenMetrics to the text-format linter.
 */
function populatedRegistry(
  options: { quotesInHelp?: boolean; exemplars?: boolean } = {},
): Registry {
  const withExemplars = options.exemplars !== false;
  const quote = options.quotesInHelp === false ? "'" : '"';
  const registry = new Registry({
    onCollectError: (name, error) => {
      throw new Error(`collect of ${name} failed: ${error}`);
    },
  });
  registerProcessMetrics(registry);
  const requests = registry.counter({
    name: "ollama_requests_total",
    help: `Requests proxied to Ollama; ${quote}code${quote} is the status.\n` +
      "Second line \\ with a backslash.",
    labelNames: ["model", "endpoint", "code"],
  });
  const inFlight = registry.gauge({
    name: "ollama_requests_in_flight",
    help: "Requests being proxied right now.",
    labelNames: ["model", "endpoint"],
  });
  const duration = registry.histogram({
    name: "ollama_response_seconds",
    help: "Time to the last byte.",
    labelNames: ["model", "endpoint"],
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1, 1.28, 2.56, 5.12, 10, 20.48, 40.96, 60],
  });
  const speed = registry.histogram({
    name: "ollama_tokens_per_second",
    help: "Generation speed.",
    labelNames: ["model"],
    buckets: [1, 10, 100, 1000, 1e6],
  });
  registry.histogram({ name: "ollama_load_seconds", help: "Load time.", buckets: [0.5, 5] })
    .observe(1.5);
  registry.counter({
    name: "ollama_request_errors_total",
    help: "Never incremented here: an empty family.",
    labelNames: ["reason"],
  });
  registry.gauge({ name: "ollama_up", help: "1 when Ollama answers." }).set(1);
  registry.gauge({ name: "ollama_odd_values", help: "Odd values.", labelNames: ["kind"] })
    .labels("nan").set(NaN);
  for (const [i, model] of WEIRD_VALUES.entries()) {
    for (const endpoint of ["/api/chat", "/v1/chat/completions"]) {
      requests.labels(model, endpoint, "200").inc(i + 1);
      requests.labels(model, endpoint, "500").inc(0.5);
      inFlight.labels(model, endpoint).set(i - 3);
      const child = duration.labels(model, endpoint);
      for (let j = 0; j <= i; j++) {
        const exemplar = {
          labels: j % 2 === 0
            ? { trace_id: (0x4bf92f35 * (j + 1)).toString(16).padStart(32, "0") }
            : { trace_id: model, span_id: endpoint },
          timestamp: TIMESTAMP_SECONDS * 1000 + 1000 * i + j,
        };
        if (withExemplars) child.observe(0.003 * 3 ** j, exemplar);
        else child.observe(0.003 * 3 ** j);
      }
    }
    // 8 + 120 code points: the longest exemplar OpenMetrics allows.
    const exemplar = { labels: { trace_id: "😀".repeat(120) } };
    if (withExemplars) speed.labels(model).observe(i * 37.5, exemplar);
    else speed.labels(model).observe(i * 37.5);
  }
  return registry;
}

function goQuote(value: string): string {
  return `"${
    value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")
      .replaceAll("\t", "\\t")
  }"`;
}

/** The series `promtool tsdb dump` should print for these families, mapped to their values. */
function expectedSeries(families: readonly FamilySnapshot[]): Map<string, number> {
  const series = new Map<string, number>();
  const add = (name: string, labels: [string, string][], value: number) => {
    const all = [["__name__", name], ...labels.filter(([, v]) => v !== "")]
      .sort(([a], [b]) => (a as string) < (b as string) ? -1 : 1);
    series.set(`{${all.map(([k, v]) => `${k}=${goQuote(v as string)}`).join(", ")}}`, value);
  };
  for (const family of families) {
    for (const child of family.series) {
      const labels = family.labelNames.map((name, i): [string, string] => [
        name,
        child.labelValues[i] as string,
      ]);
      if (family.type !== "histogram") {
        add(family.name, labels, child.value);
        continue;
      }
      let cumulative = 0;
      const bounds = [...(family.buckets ?? []), Infinity];
      for (const [i, bound] of bounds.entries()) {
        cumulative += child.bucketCounts?.[i] ?? 0;
        add(`${family.name}_bucket`, [...labels, ["le", formatBucketBound(bound)]], cumulative);
      }
      add(`${family.name}_sum`, labels, child.sum ?? 0);
      add(`${family.name}_count`, labels, cumulative);
    }
  }
  return series;
}

function sameNumber(a: number, b: number): boolean {
  return Object.is(a, b) || a === b || Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));
}

Deno.test("promtool check metrics: the text format is lint-clean", async () => {
  const registry = populatedRegistry();
  const body = encodeText(await registry.collect());
  assert.match(body, /evil\\"quote\\"/);
  const { code, output } = await promtool(["check", "metrics"], body);
  assert.equal(output, "", `promtool found problems:\n${output}`);
  assert.equal(code, 0);
});

Deno.test("promtool check metrics: OpenMetrics has only the text parser's counter artefacts", async () => {
  const registry = populatedRegistry({ quotesInHelp: false, exemplars: false });
  const families = await registry.collect();
  const body = encodeOpenMetrics(families);
  const { output } = await promtool(["check", "metrics"], body);
  const problems = output.split("\n").filter((line) => line.trim() !== "").sort();
  const artefacts = families
    .filter((family) => family.type === "counter" && family.series.length > 0)
    .map((family) => `${family.name} no help text`)
    .sort();
  assert.deepEqual(problems, artefacts, `unexpected promtool output:\n${output}`);
});

Deno.test("Prometheus's OpenMetrics parser accepts the body and stores exactly our series", async () => {
  const registry = populatedRegistry();
  const families = await registry.collect();
  const body = encodeOpenMetrics(families);
  const exemplars = body.split("\n").filter((line) => line.includes(" # {")).length;
  const kept = families.flatMap((family) => family.series)
    .flatMap((series) => series.exemplars ?? []).filter((exemplar) => exemplar !== undefined);
  assert.equal(exemplars, kept.length, "exemplar lines in the body");
  assert.equal(kept.length, 102, "exemplars kept by the registry");
  // The sample's timestamp goes before the exemplar: `name{…} value timestamp # {…} v t`.
  const stamped = body.split("\n")
    .map((line) => {
      if (line === "" || line.startsWith("#")) return line;
      const exemplar = line.indexOf(" # {");
      return exemplar < 0
        ? `${line} ${TIMESTAMP_SECONDS}`
        : `${line.slice(0, exemplar)} ${TIMESTAMP_SECONDS}${line.slice(exemplar)}`;
    })
    .join("\n");
  const directory = await Deno.makeTempDir({ prefix: "metrics_promtool_" });
  try {
    const input = `${directory}/metrics.om`;
    await Deno.writeTextFile(input, stamped);
    const created = await promtool(
      ["tsdb", "create-blocks-from", "openmetrics", input, `${directory}/db`],
    );
    assert.equal(created.code, 0, `the OpenMetrics parser rejected the body:\n${created.output}`);
    await Deno.mkdir(`${directory}/db/wal`, { recursive: true });
    const dumped = await promtool(["tsdb", "dump", `${directory}/db`]);
    assert.equal(dumped.code, 0, dumped.output);

    const stored = new Map<string, number>();
    for (const line of dumped.output.split("\n")) {
      const match = line.match(/^(\{.*\}) (\S+) (\d+)$/);
      if (match === null) continue;
      assert.equal(Number(match[3]), TIMESTAMP_SECONDS * 1000, line);
      stored.set(match[1] as string, Number(match[2]));
    }
    const expected = expectedSeries(families);
    assert.deepEqual([...stored.keys()].sort(), [...expected.keys()].sort());
    for (const [series, value] of expected) {
      const got = stored.get(series) as number;
      assert.ok(sameNumber(got, value), `${series}: stored ${got}, expected ${value}`);
    }
    assert.ok(
      stored.has(
        '{__name__="ollama_requests_total", code="200", endpoint="/api/chat", ' +
          'model="new\\nline"}',
      ),
    );
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
