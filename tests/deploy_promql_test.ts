/**
 * Every PromQL expression shipped in deploy/ (the Grafana dashboard's queries and its variable
 * query, the alerting rules) names only metrics and labels the exporter really exports.
 *
 * The reference is the real registry: `new Exporter(loadConfig(env))`, once with the default
 * configuration and once with a client header (which adds the optional `client` label) and
 * Ollama's parallelism (which adds `ollama_requests_waiting`) configured, collected with Ollama
 * unreachable. Histograms add `_bucket` (label `le`), `_sum` and
 * `_count`. Prometheus adds `up` and the target labels `job` and `instance`; Kubernetes discovery
 * adds `pod`, and a scrape configuration may add `ollama` (the Ollama that exporter replicas
 * share, which the dashboard and `OllamaDown` count once). The dashboard's queries are checked
 * with each value of its `instance_label` variable (`instance`, `pod`).
 *
 * Metric names are taken from each expression with a small lexer: strings, label matchers,
 * range selectors and grouping clauses are removed, then every identifier that is not a PromQL
 * keyword or followed by `(` (a function or aggregation) is a metric name.
 */

import assert from "node:assert/strict";
import { parse as parseYaml } from "npm:yaml@2.9.1";
import { loadConfig } from "../lib/config.ts";
import { Exporter } from "../lib/exporter.ts";
import { Logger } from "../lib/log.ts";
import { substitute } from "./support/dashboard.ts";

const DEPLOY = new URL("../deploy/", import.meta.url);

/** Series names Prometheus itself adds to every target. */
const PROMETHEUS_SERIES = new Map([["up", new Set<string>()]]);
/**
 * Labels the scrape adds to every series: Prometheus's own, `pod` from Kubernetes discovery, and
 * `ollama`, which the scrape configuration sets on exporter replicas that share one Ollama.
 */
const TARGET_LABELS = new Set(["job", "instance", "pod", "ollama"]);

/** PromQL keywords and operators that look like identifiers. */
const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
  "atan2",
  "inf",
  "nan",
  "start",
  "end",
]);

/** Every series name the exporter exposes, with the labels it can carry. */
async function exportedSeries(): Promise<Map<string, Set<string>>> {
  const logger = new Logger("ERROR", { sink: () => {} });
  const offline: typeof fetch = () => Promise.reject(new Error("no Ollama in this test"));
  const series = new Map<string, Set<string>>(PROMETHEUS_SERIES);
  const add = (name: string, labels: readonly string[]) => {
    const known = series.get(name) ?? new Set<string>();
    for (const label of labels) known.add(label);
    series.set(name, known);
  };
  for (const env of [{}, { CLIENT_HEADER: "X-Client-Name", OLLAMA_NUM_PARALLEL: "4" }]) {
    const exporter = new Exporter(loadConfig(env), { logger, fetch: offline });
    try {
      for (const family of await exporter.registry.collect()) {
        if (family.type === "histogram") {
          add(`${family.name}_bucket`, [...family.labelNames, "le"]);
          add(`${family.name}_sum`, family.labelNames);
          add(`${family.name}_count`, family.labelNames);
        } else {
          add(family.name, family.labelNames);
        }
      }
    } finally {
      await exporter.close();
    }
  }
  return series;
}

const STRING = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

/** The metric names an expression selects. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(STRING, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(GROUPING, " ");
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w:.$])[A-Za-z_:][\w:]*(?![\w:])/g)) {
    const word = match[0];
    const after = bare.slice((match.index as number) + word.length);
    if (/^\s*\(/.test(after)) continue; // a function or an aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** Selectors with label matchers: the metric name and the label names they match on. */
function matchers(expr: string): { metric: string; labels: string[] }[] {
  const found: { metric: string; labels: string[] }[] = [];
  for (const match of expr.matchAll(/([A-Za-z_:][\w:]*)\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}/g)) {
    const labels = [...(match[2] as string).matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)]
      .map((m) => m[1] as string);
    found.push({ metric: match[1] as string, labels });
  }
  return found;
}

/** Label names of `by (...)`, `without (...)`, `on (...)` and similar clauses. */
function groupingLabels(expr: string): string[] {
  return [...expr.replace(STRING, '""').matchAll(GROUPING)].flatMap((match) =>
    (match[1] as string).split(",").map((label) => label.trim()).filter((label) => label !== "")
  );
}

interface Panel {
  id: number;
  title: string;
  type: string;
  targets?: { expr?: string; refId: string }[];
  panels?: Panel[];
}

/** Every expression in deploy/, named by where it is. */
async function shippedExpressions(): Promise<{ where: string; expr: string }[]> {
  const found: { where: string; expr: string }[] = [];
  const dashboard = JSON.parse(
    await Deno.readTextFile(new URL("grafana/ollama_exporter_dashboard.json", DEPLOY)),
  ) as { panels: Panel[]; templating: { list: { name: string; definition?: string }[] } };
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  for (const instanceLabel of ["instance", "pod"]) {
    const values = { instance_label: instanceLabel };
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        found.push({
          where: `dashboard panel "${panel.title}" query ${target.refId} (${instanceLabel})`,
          expr: substitute(target.expr ?? "", values),
        });
      }
    }
    for (const variable of dashboard.templating.list) {
      const query = substitute(variable.definition ?? "", values)
        .match(/^label_values\(\s*([^,]+),\s*(\w+)\s*\)$/);
      if (query) {
        found.push({
          where: `dashboard variable $${variable.name} (${instanceLabel})`,
          expr: `group by (${query[2]}) (${query[1]})`,
        });
      }
    }
  }
  const alerts = parseYaml(
    await Deno.readTextFile(new URL("prometheus/alerts.yml", DEPLOY)),
  ) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  for (const rule of alerts.groups.flatMap((group) => group.rules)) {
    found.push({ where: `alert ${rule.alert ?? rule.record}`, expr: rule.expr });
  }
  return found;
}

Deno.test("the metric-name lexer finds metric names and nothing else", () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.95, sum by (model, le) (rate(a_bucket{model=~"$model", x="by (y)"}' +
        "[$__rate_interval] offset 15m))) > 1e3 and on (model) sum without (le) (b) / 60",
    ),
    ["a_bucket", "b"],
  );
  assert.deepEqual(metricNames('absent(up{job="x"}) or vector(0)'), ["up"]);
  assert.deepEqual(metricNames("count by (version) (ollama_info) > bool 0"), ["ollama_info"]);
  assert.deepEqual(groupingLabels("sum by (model, le) (x) / on(model) group_left(client) y"), [
    "model",
    "le",
    "model",
    "client",
  ]);
  assert.deepEqual(matchers('a{model=~"$model", location="vram"} + b'), [
    { metric: "a", labels: ["model", "location"] },
  ]);
});

Deno.test("dashboard and alerts: every metric and label is one the exporter exports", async () => {
  const exported = await exportedSeries();
  const expressions = await shippedExpressions();
  assert.ok(expressions.length > 20, `only ${expressions.length} expressions found`);
  const problems: string[] = [];
  for (const { where, expr } of expressions) {
    const names = metricNames(expr);
    if (names.length === 0) problems.push(`${where}: no metric found in ${expr}`);
    for (const name of names) {
      if (!exported.has(name)) problems.push(`${where}: ${name} is not exported`);
    }
    for (const { metric, labels } of matchers(expr)) {
      const known = exported.get(metric);
      if (known === undefined) continue; // reported above
      for (const label of labels) {
        if (!known.has(label) && !TARGET_LABELS.has(label)) {
          problems.push(`${where}: ${metric} has no label ${label}`);
        }
      }
    }
    const available = new Set(names.flatMap((name) => [...(exported.get(name) ?? [])]));
    for (const label of groupingLabels(expr)) {
      if (!available.has(label) && !TARGET_LABELS.has(label)) {
        problems.push(`${where}: groups by ${label}, which none of ${names.join(", ")} has`);
      }
    }
  }
  assert.deepEqual(problems, [], `\n${problems.join("\n")}`);
});

Deno.test("dashboard: every selector of a series with a model label follows $model", async () => {
  const exported = await exportedSeries();
  const dashboard = JSON.parse(
    await Deno.readTextFile(new URL("grafana/ollama_exporter_dashboard.json", DEPLOY)),
  ) as { panels: Panel[] };
  const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  const problems: string[] = [];
  let selectors = 0;
  for (const panel of panels) {
    for (const target of panel.targets ?? []) {
      const expr = target.expr ?? "";
      for (const match of expr.matchAll(/\b(ollama_\w+)\{([^}]*)\}/g)) {
        selectors++;
        const [, name, inside] = match as unknown as [string, string, string];
        const hasModel = exported.get(name)?.has("model") ?? false;
        const follows = /\bmodel=~"\$model"/.test(inside);
        if (hasModel !== follows) {
          problems.push(
            `panel "${panel.title}" ${target.refId}: ${name} ` +
              (hasModel ? 'has a model label but no model=~"$model"' : "has no model label"),
          );
        }
      }
    }
  }
  assert.ok(selectors > 80, `only ${selectors} selectors`);
  assert.deepEqual(problems, [], `\n${problems.join("\n")}`);
});

Deno.test("the dashboard charts the loaded-model, version, client, answer and saturation series", async () => {
  const all = (await shippedExpressions()).map(({ expr }) => expr).join("\n");
  for (
    const name of [
      "ollama_requests_total",
      "ollama_request_errors_total",
      "ollama_requests_in_flight",
      "ollama_response_seconds_bucket",
      "ollama_time_to_first_token_seconds_bucket",
      "ollama_tokens_per_second_bucket",
      "ollama_time_to_first_answer_seconds_bucket",
      "ollama_tool_calls_total",
      "ollama_finished_generations_total",
      "ollama_tokens_generated_total",
      "ollama_tokens_processed_total",
      "ollama_loaded_models",
      "ollama_model_memory_bytes",
      "ollama_model_expiry_seconds",
      "ollama_model_context_length",
      "ollama_up",
      "ollama_info",
      "ollama_queue_wait_seconds_bucket",
      "ollama_requests_waiting",
      "ollama_inter_token_latency_seconds_bucket",
      "ollama_context_usage_ratio_bucket",
      "ollama_context_usage_ratio_count",
      "ollama_context_limit_reached_total",
      "ollama_discarded_output_chunks_total",
    ]
  ) {
    assert.match(all, new RegExp(`\\b${name}\\b`), `nothing in deploy/ uses ${name}`);
  }
  assert.match(all, /sum by \(client\) \(rate\(ollama_tokens_generated_total/);
  assert.match(all, /ollama_request_errors_total\{[^}]*reason="server_busy"/);
});
