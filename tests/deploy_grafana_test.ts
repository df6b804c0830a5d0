/**
 * The Grafana dashboard (deploy/grafana/ollama_exporter_dashboard.json) and its provisioning:
 *
 * - importable: `__inputs` asks for a Prometheus data source, every panel and query uses the
 *   `${datasource}` variable, the `model` variable lists `label_values(ollama_requests_total,
 *   model)` with multi-select and "All";
 * - laid out: unique panel ids, panels inside the 24-column grid and not overlapping;
 * - several exporter replicas add up: every rate() is aggregated (`sum by (...)`), and every
 *   selector of a per-model series follows the `model` variable;
 * - every query parses with Prometheus's own parser: the queries, with Grafana's variables
 *   replaced, become recording rules that `promtool check rules` must accept;
 * - the provisioning files are what Grafana reads.
 *
 * Without promtool the parse test fails: install it with `apt-get install prometheus`.
 */

import { runPromtool } from "./support/promtool.ts";
import assert from "node:assert/strict";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

const GRAFANA = new URL("../deploy/grafana/", import.meta.url);
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

interface Target {
  datasource?: unknown;
  expr?: string;
  refId?: string;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: unknown;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query?: unknown;
  definition?: string;
  datasource?: unknown;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
}

const dashboard = JSON.parse(
  await Deno.readTextFile(new URL("ollama_exporter_dashboard.json", GRAFANA)),
) as {
  __inputs: { name: string; type: string; pluginId: string }[];
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
};
const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const queryPanels = panels.filter((panel) => panel.type !== "row");
const targets = queryPanels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel, target }))
);

/** Grafana's variables replaced by values Prometheus accepts. */
function substitute(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__interval", "1m")
    .replaceAll("$__range", "1h")
    .replaceAll("$model", ".*");
}

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

Deno.test("dashboard: the rows, Saturation right after Traffic where an operator looks first", () => {
  const rows = dashboard.panels.filter((panel) => panel.type === "row").map((row) => row.title);
  assert.deepEqual(rows.slice(0, 3), ["Overview", "Traffic", "Saturation"]);
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

Deno.test("dashboard: rates are summed over replicas and per-model selectors follow $model", () => {
  for (const { panel, target } of targets) {
    const expr = target.expr as string;
    const where = `panel "${panel.title}" ${target.refId}: ${expr}`;
    const rates = expr.match(/\b(?:rate|increase|irate)\(/g) ?? [];
    const sums = expr.match(/\bsum(?:\s+by\s*\([^)]*\))?\s*\(/g) ?? [];
    assert.ok(sums.length >= rates.length, `every rate() needs a sum around it: ${where}`);
    for (const selector of expr.matchAll(/\b(ollama_\w+)\{([^}]*)\}/g)) {
      assert.match(selector[2] as string, /model=~"\$model"/, where);
    }
    for (const bare of expr.matchAll(/\b(ollama_(?:request|response|time|token)\w*)\b(?!\{)/g)) {
      assert.fail(`${bare[1]} without {model=~"$model"}: ${where}`);
    }
  }
});

Deno.test("dashboard: promtool parses every query", async () => {
  const records = targets.map(({ panel, target }) => ({
    record: `dashboard:panel_${panel.id}:${target.refId}`,
    expr: substitute(target.expr as string),
  }));
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
