/**
 * The Prometheus files in deploy/prometheus, checked by Prometheus's own tool:
 *
 * - `promtool check config prometheus.yml` (which also checks the rule files it names),
 * - `promtool check rules alerts.yml`,
 * - `promtool test rules alerts_test.yml`: the unit tests that make every alert fire and not
 *   fire; this file checks that they really cover every alert both ways,
 * - and the conventions every alert follows: a `for` duration, a severity label, summary and
 *   description annotations; the job the alerts watch is the job prometheus.yml scrapes.
 *
 * Without promtool these tests fail: install it with `apt-get install prometheus` (Debian/Ubuntu,
 * as .ci/run does) or put the promtool binary from https://prometheus.io/download/ on the PATH.
 */

import { runPromtool } from "./support/promtool.ts";
import assert from "node:assert/strict";
import { parse as parseYaml } from "npm:yaml@2.9.1";

const DIRECTORY = new URL("../deploy/prometheus/", import.meta.url).pathname;

function promtool(args: string[]): Promise<{ code: number; output: string }> {
  return runPromtool(args, { cwd: DIRECTORY, purpose: "check deploy/prometheus" });
}

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface AlertTests {
  rule_files: string[];
  tests: {
    name?: string;
    alert_rule_test?: { alertname: string; exp_alerts: unknown[] | null }[];
  }[];
}

async function readYaml<T>(file: string): Promise<T> {
  return parseYaml(await Deno.readTextFile(DIRECTORY + file)) as T;
}

const rules = (await readYaml<{ groups: { name: string; rules: AlertRule[] }[] }>("alerts.yml"))
  .groups.flatMap((group) => group.rules);
const alerts = rules.filter((rule) => rule.alert !== undefined);

Deno.test("promtool check config: prometheus.yml and the rules it loads are valid", async () => {
  const { code, output } = await promtool(["check", "config", "prometheus.yml"]);
  assert.equal(code, 0, output);
  assert.match(output, /SUCCESS: prometheus\.yml is valid prometheus config file syntax/);
  assert.match(output, /Checking alerts\.yml\s+SUCCESS: \d+ rules found/);
});

Deno.test("promtool check rules: alerts.yml is valid", async () => {
  const { code, output } = await promtool(["check", "rules", "alerts.yml"]);
  assert.equal(code, 0, output);
  assert.match(output, new RegExp(`SUCCESS: ${rules.length} rules found`));
});

Deno.test("promtool test rules: every alert fires and stays quiet as alerts_test.yml expects", async () => {
  const { code, output } = await promtool(["test", "rules", "alerts_test.yml"]);
  assert.equal(code, 0, output);
  assert.match(output, /SUCCESS/);
});

Deno.test("alerts_test.yml covers every alert both firing and not firing", async () => {
  const tests = await readYaml<AlertTests>("alerts_test.yml");
  assert.deepEqual(tests.rule_files, ["alerts.yml"]);
  const checks = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
  const known = new Set(alerts.map((alert) => alert.alert));
  for (const check of checks) {
    assert.ok(
      known.has(check.alertname),
      `alerts_test.yml tests an unknown alert ${check.alertname}`,
    );
  }
  for (const alert of alerts) {
    const mine = checks.filter((check) => check.alertname === alert.alert);
    assert.ok(
      mine.some((check) => (check.exp_alerts ?? []).length > 0),
      `no test makes ${alert.alert} fire`,
    );
    assert.ok(
      mine.some((check) => (check.exp_alerts ?? []).length === 0),
      `no test checks that ${alert.alert} stays quiet`,
    );
  }
});

Deno.test("every alert has a for duration, a severity, a summary and a description", () => {
  assert.ok(alerts.length >= 5, "the five alerts of the brief, at least");
  const names = alerts.map((alert) => alert.alert);
  assert.equal(new Set(names).size, names.length, "alert names are unique");
  for (const alert of alerts) {
    const name = alert.alert as string;
    assert.match(name, /^[A-Z][A-Za-z0-9]+$/, "alert names are UpperCamelCase");
    assert.match(alert.for ?? "", /^\d+[smh]$/, `${name}: a for duration avoids flapping`);
    assert.ok(
      ["critical", "warning", "info"].includes(alert.labels?.severity ?? ""),
      `${name}: severity must be critical, warning or info`,
    );
    assert.ok((alert.annotations?.summary ?? "").trim() !== "", `${name}: summary annotation`);
    assert.ok(
      (alert.annotations?.description ?? "").trim() !== "",
      `${name}: description annotation`,
    );
  }
  const byName = new Map(alerts.map((alert) => [alert.alert, alert]));
  // Per target (one Ollama down among many fires once, naming it), and once per Ollama for
  // replicas that share one and carry the same `ollama` target label.
  assert.match(
    byName.get("OllamaDown")?.expr ?? "",
    /^ollama_up\{ollama=""\} == 0\s+or\s+count without \(instance, pod\) \(ollama_up\{ollama!=""\} == 0\)\s*$/,
  );
  assert.match(byName.get("OllamaExporterDown")?.expr ?? "", /^up\{job="[^"]+"\} == 0$/);
  for (
    const name of [
      "OllamaHighErrorRatio",
      "OllamaSlowTimeToFirstToken",
      "OllamaAnswersTruncated",
      "OllamaOverloaded",
      "OllamaQueueWaitHigh",
      "OllamaContextTooSmall",
    ]
  ) {
    assert.match(byName.get(name)?.expr ?? "", /sum by \(model/, `${name} sums over replicas`);
  }
});

Deno.test("the per-exporter alerts keep every target label; the others sum them away", () => {
  const byName = new Map(alerts.map((alert) => [alert.alert, alert]));
  const outlier = byName.get("OllamaInstanceHighErrorRatio")?.expr ?? "";
  // `sum without` the per-request labels keeps instance, pod, namespace, ... for routing.
  assert.doesNotMatch(outlier, /\bsum by \((?!job\))/, "no sum by (...) but the job's ratio");
  assert.match(outlier, /sum without \(model, endpoint, code, reason, client\)/);
  assert.match(outlier, /> on \(job\) group_left\s+2 \* \(/, "compared with its job");
  const perExporter = [
    "OllamaExporterDown",
    "OllamaExporterAbsent",
    "OllamaDown",
    "OllamaInstanceHighErrorRatio",
  ];
  for (const alert of alerts.filter((alert) => !perExporter.includes(alert.alert ?? ""))) {
    // Request alerts are about a model over the whole fleet: no instance in their labels.
    assert.match(alert.expr, /sum by \(model\)/, `${alert.alert} sums over exporters`);
    assert.doesNotMatch(alert.expr, /\binstance\b/, `${alert.alert} names no instance`);
  }
});

Deno.test("the alerts watch the job prometheus.yml scrapes", async () => {
  const config = await readYaml<{ scrape_configs: { job_name: string }[] }>("prometheus.yml");
  const jobs = config.scrape_configs.map((job) => job.job_name);
  const watched = new Set(
    alerts.flatMap((alert) => [...alert.expr.matchAll(/\bjob="([^"]+)"/g)].map((m) => m[1])),
  );
  assert.ok(watched.size > 0, "no alert names a job");
  for (const job of watched) {
    assert.ok(
      jobs.includes(job as string),
      `alerts watch job "${job}", prometheus.yml has ${jobs}`,
    );
  }
});
