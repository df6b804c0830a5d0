/**
 * The Grafana dashboard (deploy/grafana/ollama_exporter_dashboard.json) and its provisioning:
 *
 * - importable: `__inputs` asks for a Prometheus data source, every panel and query uses the
 *   `${datasource}` variable, the `model` variable lists `label_values(ollama_requests_total,
 *   model)` with multi-select and "All";
 * - laid out: unique panel ids, panels inside the 24-column grid and not overlapping;
 * - several exporter replicas add up: every rate() is aggregated (`sum by (...)`), and every
 *   selector of a per-model series follows the `model` variable;
 * - a fleet: the `instance_label` (instance or pod) and `instance` variables, followed by every
 *   selector; a Fleet row of per-instance panels; and the totals of the gauges that describe
 *   Ollama itself (loaded models, model memory, Ollama down) count each Ollama once whether one
 *   exporter sits beside each Ollama or several replicas share one, evaluated by
 *   `promtool test rules` over series of both layouts;
 * - every query parses with Prometheus's own parser: the queries, with Grafana's variables
 *   replaced, become recording rules that `promtool check rules` must accept;
 * - the provisioning files are what Grafana reads.
 *
 * Without promtool the parse test fails: install it with `apt-get install prometheus`.
 */

import { runPromtool } from "./support/promtool.ts";
import assert from "node:assert/strict";
import { parse as parseYaml, stringify as stringifyYaml } from "npm:yaml@2.9.1";
import { allPanels, panelQuery, readDashboard, substitute } from "./support/dashboard.ts";

const GRAFANA = new URL("../deploy/grafana/", import.meta.url);
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

const dashboard = await readDashboard();
const panels = allPanels(dashboard);
const queryPanels = panels.filter((panel) => panel.type !== "row");
const targets = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel, target }))
);

/** The series that carry no `model` label: a `model` matcher would empty them. */
const MODEL_LESS = new Set(["ollama_up", "ollama_info", "ollama_loaded_models"]);
/** The matcher that makes a selector follow the `instance` variable. */
const INSTANCE_MATCHER = '$instance_label=~"$instance"';

Deno.test("dashboard: importable, with a data source input and a schema Grafana 10+ reads", () => {
  assert.equal(dashboard.uid, "ollama-exporter");
  assert.ok(dashboard.title.length > 0);
  assert.ok(dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41);
  const input = dashboard.__inputs.find((i) => i.type === "datasource");
  assert.equal(input?.pluginId, "prometheus");
});

Deno.test("dashboard: the datasource and model variables", () => {
  const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  const datasource = variables.get("datasource");
  assert.equal(datasource?.type, "datasource");
  assert.equal(datasource?.query, "prometheus");
  const model = variables.get("model");
  assert.ok(model, "a model variable");
  assert.equal(model.type, "query");
  assert.deepEqual(model.datasource, DATASOURCE);
  assert.equal(model.definition, "label_values(ollama_requests_total, model)");
  assert.equal(
    (model.query as { query?: string } | undefined)?.query,
    "label_values(ollama_requests_total, model)",
  );
  assert.equal(model.multi, true);
  assert.equal(model.includeAll, true);
  assert.equal(model.allValue, ".*", 'All must also match series with an empty model ("")');
});

Deno.test("dashboard: the instance_label and instance variables pick exporters by instance or pod", () => {
  const names = dashboard.templating.list.map((v) => v.name);
  const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  const label = variables.get("instance_label");
  assert.ok(label, "an instance_label variable");
  assert.equal(label.type, "custom");
  assert.equal(label.query, "instance,pod");
  assert.deepEqual(label.options?.map((option) => option.value), ["instance", "pod"]);
  assert.equal(label.current?.value, "instance", "static configurations have no pod label");
  assert.equal(label.multi, false);
  assert.equal(label.includeAll, false);
  const instance = variables.get("instance");
  assert.ok(instance, "an instance variable");
  assert.ok(names.indexOf("instance_label") < names.indexOf("instance"), "instance uses it");
  assert.equal(instance.type, "query");
  assert.deepEqual(instance.datasource, DATASOURCE);
  assert.equal(instance.definition, "label_values(ollama_up, $instance_label)");
  assert.equal(
    (instance.query as { query?: string } | undefined)?.query,
    "label_values(ollama_up, $instance_label)",
  );
  assert.equal(instance.multi, true);
  assert.equal(instance.includeAll, true);
  assert.equal(instance.allValue, ".*", "All must also match series without the label");
  assert.equal(instance.refresh, 2, "new pods appear when the time range changes");
});

Deno.test("dashboard: every panel and query uses the ${datasource} variable", () => {
  assert.ok(queryPanels.length >= 15, `${queryPanels.length} panels`);
  for (const panel of queryPanels) {
    assert.deepEqual(panel.datasource, DATASOURCE, `panel "${panel.title}"`);
    assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has no query`);
    const refIds = (panel.targets ?? []).map((target) => target.refId);
    assert.equal(new Set(refIds).size, refIds.length, `panel "${panel.title}": refIds repeat`);
    for (const target of panel.targets ?? []) {
      assert.deepEqual(target.datasource, DATASOURCE, `panel "${panel.title}" ${target.refId}`);
      assert.ok((target.expr ?? "").trim() !== "", `panel "${panel.title}" ${target.refId}`);
    }
  }
  const serialized = JSON.stringify(dashboard);
  assert.ok(!serialized.includes("${DS_"), "no ${DS_...} placeholders: provisioning leaves them");
});

Deno.test("dashboard: unique ids, panels inside the grid, none overlapping", () => {
  const ids = panels.map((panel) => panel.id);
  assert.equal(new Set(ids).size, ids.length, "panel ids repeat");
  const cells = new Map<string, string>();
  for (const panel of panels) {
    const { h, w, x, y } = panel.gridPos;
    assert.ok(w > 0 && h > 0 && x >= 0 && y >= 0 && x + w <= 24, `panel "${panel.title}"`);
    for (let row = y; row < y + h; row++) {
      for (let column = x; column < x + w; column++) {
        const other = cells.get(`${row},${column}`);
        assert.equal(other, undefined, `panels "${other}" and "${panel.title}" overlap`);
        cells.set(`${row},${column}`, panel.title);
      }
    }
  }
});

Deno.test("dashboard: the rows, Saturation right after Traffic where an operator looks first, then Fleet", () => {
  const rows = dashboard.panels.filter((panel) => panel.type === "row").map((row) => row.title);
  assert.deepEqual(rows.slice(0, 4), ["Overview", "Traffic", "Saturation", "Fleet"]);
  const rowY = (title: string) => panels.find((panel) => panel.title === title)?.gridPos.y;
  const saturation = rowY("Saturation") as number;
  const next = dashboard.panels.find((panel) =>
    panel.type === "row" && panel.gridPos.y > saturation
  );
  const inside = queryPanels.filter((panel) =>
    panel.gridPos.y > saturation && panel.gridPos.y < (next?.gridPos.y ?? Infinity)
  );
  const exprs = inside.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  for (
    const name of [
      "ollama_queue_wait_seconds_bucket",
      "ollama_requests_waiting",
      'reason="server_busy"',
      "ollama_context_usage_ratio_bucket",
      "ollama_context_limit_reached_total",
      "ollama_discarded_output_chunks_total",
      "ollama_inter_token_latency_seconds_bucket",
    ]
  ) {
    assert.ok(exprs.some((expr) => expr?.includes(name)), `no Saturation panel uses ${name}`);
  }
});

/** The query panels of the row titled `title`: below it, above the next row. */
function rowPanels(title: string) {
  const row = panels.find((panel) => panel.type === "row" && panel.title === title);
  assert.ok(row, `a row "${title}"`);
  const next = dashboard.panels.find((panel) =>
    panel.type === "row" && panel.gridPos.y > row.gridPos.y
  );
  return queryPanels.filter((panel) =>
    panel.gridPos.y > row.gridPos.y && panel.gridPos.y < (next?.gridPos.y ?? Infinity)
  );
}

Deno.test("dashboard: the Fleet row charts saturation, inventory and requests per instance", () => {
  const inside = rowPanels("Fleet");
  assert.ok(inside.length >= 8, `${inside.length} panels in the Fleet row`);
  const exprs: string[] = [];
  for (const panel of inside) {
    for (const target of panel.targets ?? []) {
      const expr = target.expr as string;
      exprs.push(expr);
      // One series (or table line) per exporter, named by the label the variable picks.
      assert.match(expr, /\b(?:sum|max) by \(\$instance_label\b/, `"${panel.title}": ${expr}`);
      if (panel.type === "timeseries") {
        assert.equal(target.legendFormat, "{{$instance_label}}", `"${panel.title}" legend`);
      }
    }
  }
  for (
    const wanted of [
      /histogram_quantile\(0\.95, sum by \(\$instance_label, le\) \(rate\(ollama_queue_wait_seconds_bucket\{/,
      /sum by \(\$instance_label\) \(ollama_requests_waiting\{/,
      /sum by \(\$instance_label\) \(ollama_requests_in_flight\{/,
      /max by \(\$instance_label\) \(ollama_loaded_models\{/,
      /sum by \(\$instance_label\) \(ollama_model_memory_bytes\{[^}]*location="vram"/,
      /sum by \(\$instance_label\) \(rate\(ollama_requests_total\{/,
      /sum by \(\$instance_label, model\) \(ollama_model_memory_bytes\{/,
    ]
  ) {
    assert.ok(exprs.some((expr) => wanted.test(expr)), `no Fleet panel matches ${wanted}`);
  }
});

Deno.test("dashboard: no fleet-wide max or min of the gauges that describe Ollama", () => {
  // `max(ollama_loaded_models)` over a fleet is one server's count, not the fleet's. Outside the
  // per-instance panels, these gauges are counted once per Ollama: as they are for targets
  // without an `ollama` label, `max`/`min without (instance, pod)` for replicas sharing one.
  for (const { panel, target } of targets) {
    const expr = target.expr as string;
    const where = `panel "${panel.title}" ${target.refId}: ${expr}`;
    assert.doesNotMatch(expr, /\b(?:max|min)\s*\(\s*ollama_/, where);
    for (const gauge of ["ollama_up", "ollama_loaded_models", "ollama_model_memory_bytes"]) {
      const byModel = new RegExp(
        `\\b(?:max|min) by \\((?:model|model, location)\\) \\(${gauge}\\b`,
      );
      assert.doesNotMatch(expr, byModel, where);
    }
  }
});

Deno.test("dashboard: rates are summed over replicas, selectors follow $model and $instance", () => {
  for (const { panel, target } of targets) {
    const expr = target.expr as string;
    const where = `panel "${panel.title}" ${target.refId}: ${expr}`;
    const rates = expr.match(/\b(?:rate|increase|irate)\(/g) ?? [];
    const sums = expr.match(/\bsum(?:\s+(?:by|without)\s*\([^)]*\))?\s*\(/g) ?? [];
    assert.ok(sums.length >= rates.length, `every rate() needs a sum around it: ${where}`);
    for (const selector of expr.matchAll(/\b(ollama_\w+)\{([^}]*)\}/g)) {
      const [, name, matchers] = selector as unknown as [string, string, string];
      if (MODEL_LESS.has(name)) {
        assert.doesNotMatch(matchers, /\bmodel\b/, `${name} has no model label: ${where}`);
      } else {
        assert.match(matchers, /model=~"\$model"/, where);
      }
      assert.ok(
        matchers.includes(INSTANCE_MATCHER),
        `${name} without ${INSTANCE_MATCHER}: ${where}`,
      );
    }
    for (const bare of expr.matchAll(/\b(ollama_\w+)\b(?![{\w])/g)) {
      assert.fail(`${bare[1]} without {${INSTANCE_MATCHER}}: ${where}`);
    }
  }
});

Deno.test("dashboard: promtool parses every query", async () => {
  const records = ["instance", "pod"].flatMap((label) =>
    targets.map(({ panel, target }) => ({
      record: `dashboard:panel_${panel.id}:${target.refId}:${label}`,
      expr: substitute(target.expr as string, { instance_label: label }),
    }))
  );
  for (const { expr } of records) assert.ok(!expr.includes("$"), `unreplaced variable in ${expr}`);
  const directory = await Deno.makeTempDir({ prefix: "deploy_grafana_" });
  try {
    const file = `${directory}/dashboard_rules.yml`;
    await Deno.writeTextFile(
      file,
      stringifyYaml({ groups: [{ name: "dashboard", rules: records }] }),
    );
    const { code, output: text } = await runPromtool(["check", "rules", file], {
      purpose: "parse the dashboard's queries",
    });
    assert.equal(code, 0, text);
    assert.match(text, new RegExp(`SUCCESS: ${records.length} rules found`));
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

/** One sample promtool must find: its labels as PromQL writes them, and its value. */
type Expected = [labels: string, value: number];

/**
 * Series of both layouts in one Prometheus, as the exporters report them at 1m (at 0m every
 * Ollama answers):
 *
 * - job `fleet`, one exporter beside each Ollama (pods ollama-0..2, no `ollama` label):
 *   ollama-0 holds llama3.2, ollama-2 holds llama3.2 and qwen3 (partly in RAM), ollama-1's
 *   Ollama stops answering at 1m (its inventory goes stale: the exporter leaves it absent);
 * - job `standalone`, two replicas in front of ONE Ollama that holds phi4, both labelled
 *   `ollama="shared"` by the scrape configuration; replica a loses it at 1m.
 */
const LAYOUTS: { series: string; values: string }[] = [
  ...[["ollama-0", "1 1"], ["ollama-1", "1 0"], ["ollama-2", "1 1"]].map(([pod, values]) => ({
    series: `ollama_up{job="fleet", instance="${pod}.fleet:8000", pod="${pod}"}`,
    values: values as string,
  })),
  {
    series: 'ollama_loaded_models{job="fleet", instance="ollama-0.fleet:8000", pod="ollama-0"}',
    values: "1 1",
  },
  {
    series: 'ollama_loaded_models{job="fleet", instance="ollama-1.fleet:8000", pod="ollama-1"}',
    values: "1 stale",
  },
  {
    series: 'ollama_loaded_models{job="fleet", instance="ollama-2.fleet:8000", pod="ollama-2"}',
    values: "2 2",
  },
  ...[
    ["ollama-0", "llama3.2", "vram", "4000000000 4000000000"],
    ["ollama-0", "llama3.2", "ram", "0 0"],
    ["ollama-1", "mistral", "vram", "5000000000 stale"],
    ["ollama-1", "mistral", "ram", "0 stale"],
    ["ollama-2", "llama3.2", "vram", "4000000000 4000000000"],
    ["ollama-2", "llama3.2", "ram", "0 0"],
    ["ollama-2", "qwen3", "vram", "2000000000 2000000000"],
    ["ollama-2", "qwen3", "ram", "1000000000 1000000000"],
  ].map(([pod, model, location, values]) => ({
    series: `ollama_model_memory_bytes{job="fleet", instance="${pod}.fleet:8000", pod="${pod}", ` +
      `model="${model}", location="${location}"}`,
    values: values as string,
  })),
  ...[["exporter-a", "1 0"], ["exporter-b", "1 1"]].flatMap(([pod, up]) => {
    const labels = `job="standalone", instance="${pod}:8000", pod="${pod}", ollama="shared"`;
    return [
      { series: `ollama_up{${labels}}`, values: up as string },
      { series: `ollama_loaded_models{${labels}}`, values: "1 1" },
      {
        series: `ollama_model_memory_bytes{${labels}, model="phi4", location="vram"}`,
        values: "3000000000 3000000000",
      },
      {
        series: `ollama_model_memory_bytes{${labels}, model="phi4", location="ram"}`,
        values: "0 0",
      },
    ];
  }),
];

Deno.test("dashboard: fleet totals count each Ollama once, beside each Ollama or sharing one (promtool)", async () => {
  const checks: { expr: string; time: string; samples: Expected[] }[] = [];
  const check = (expr: string, time: string, samples: Expected[]) =>
    checks.push({ expr, time, samples });
  const down = panelQuery(dashboard, "Ollama down", "stat");
  // All up: 0, not "no data"; then ollama-1 and the shared Ollama (one replica lost it): 2.
  check(substitute(down), "0m", [["{}", 0]]);
  check(substitute(down), "1m", [["{}", 2]]);
  // ollama-0 1 + ollama-2 2 + the shared Ollama once (not twice) 1; ollama-1 is absent.
  check(substitute(panelQuery(dashboard, "Loaded models", "stat")), "1m", [["{}", 4]]);
  check(substitute(panelQuery(dashboard, "Loaded models", "stat")), "0m", [["{}", 5]]);
  check(substitute(panelQuery(dashboard, "Model memory", "stat")), "1m", [["{}", 14e9]]);
  // The instance variable narrows the totals.
  check(
    substitute(panelQuery(dashboard, "Loaded models", "stat"), {
      instance_label: "pod",
      instance: "ollama-0|ollama-2",
    }),
    "1m",
    [["{}", 3]],
  );
  const table = (refId: string) =>
    substitute(panelQuery(dashboard, "Loaded models", "table", refId));
  check(table("A"), "1m", [['{model="llama3.2"}', 8e9], ['{model="qwen3"}', 2e9], [
    '{model="phi4"}',
    3e9,
  ]]);
  check(table("B"), "1m", [['{model="llama3.2"}', 0], ['{model="qwen3"}', 1e9], [
    '{model="phi4"}',
    0,
  ]]);
  // "Loaded on": the Ollama servers holding each model.
  check(table("E"), "1m", [['{model="llama3.2"}', 2], ['{model="qwen3"}', 1], [
    '{model="phi4"}',
    1,
  ]]);
  check(substitute(panelQuery(dashboard, "Model memory by location", "timeseries")), "1m", [
    ['{model="llama3.2", location="vram"}', 8e9],
    ['{model="llama3.2", location="ram"}', 0],
    ['{model="qwen3", location="vram"}', 2e9],
    ['{model="qwen3", location="ram"}', 1e9],
    ['{model="phi4", location="vram"}', 3e9],
    ['{model="phi4", location="ram"}', 0],
  ]);
  // Per instance, every exporter shows its own Ollama's inventory, by pod or by instance.
  const perPod = { instance_label: "pod" };
  check(
    substitute(panelQuery(dashboard, "Models loaded per instance", "timeseries"), perPod),
    "1m",
    [
      ['{pod="ollama-0"}', 1],
      ['{pod="ollama-2"}', 2],
      ['{pod="exporter-a"}', 1],
      ['{pod="exporter-b"}', 1],
    ],
  );
  check(substitute(panelQuery(dashboard, "VRAM per instance", "timeseries")), "1m", [
    ['{instance="ollama-0.fleet:8000"}', 4e9],
    ['{instance="ollama-2.fleet:8000"}', 6e9],
    ['{instance="exporter-a:8000"}', 3e9],
    ['{instance="exporter-b:8000"}', 3e9],
  ]);
  check(substitute(panelQuery(dashboard, "Ollama up per exporter", "timeseries"), perPod), "1m", [
    ['{pod="ollama-0"}', 1],
    ['{pod="ollama-1"}', 0],
    ['{pod="ollama-2"}', 1],
    ['{pod="exporter-a"}', 0],
    ['{pod="exporter-b"}', 1],
  ]);
  const tests = {
    rule_files: [],
    evaluation_interval: "1m",
    tests: [{
      interval: "1m",
      input_series: LAYOUTS,
      promql_expr_test: checks.map(({ expr, time, samples }) => ({
        expr,
        eval_time: time,
        exp_samples: samples.map(([labels, value]) => ({ labels, value })),
      })),
    }],
  };
  const directory = await Deno.makeTempDir({ prefix: "deploy_grafana_layouts_" });
  try {
    const file = `${directory}/layouts_test.yml`;
    await Deno.writeTextFile(file, stringifyYaml(tests));
    const { code, output } = await runPromtool(["test", "rules", file], {
      purpose: "evaluate the dashboard's fleet totals",
    });
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS/);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("provisioning: a default Prometheus data source and a file provider for the dashboard", async () => {
  const datasources = parseYaml(
    await Deno.readTextFile(new URL("provisioning/datasources/prometheus.yaml", GRAFANA)),
  ) as { apiVersion: number; datasources: { type: string; url: string; isDefault: boolean }[] };
  assert.equal(datasources.apiVersion, 1);
  assert.equal(datasources.datasources.length, 1);
  assert.equal(datasources.datasources[0]?.type, "prometheus");
  assert.equal(datasources.datasources[0]?.isDefault, true);
  const dashboards = parseYaml(
    await Deno.readTextFile(new URL("provisioning/dashboards/ollama_exporter.yaml", GRAFANA)),
  ) as { apiVersion: number; providers: { type: string; options: { path: string } }[] };
  assert.equal(dashboards.apiVersion, 1);
  assert.equal(dashboards.providers[0]?.type, "file");
  assert.match(dashboards.providers[0]?.options.path ?? "", /^\//);
});
