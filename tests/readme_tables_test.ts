/**
 * The README's Configuration and Metrics tables cannot fall behind the code: they are compared,
 * both ways, with `CONFIG_SETTINGS` and with the families the registry of a real `Exporter` holds.
 *
 * The Metrics table's labels column lists the labels a family always carries, then `(+ client)`
 * for the `client` label it gains with `CLIENT_HEADER` or API keys; the reference is one exporter
 * with the default configuration and one with a client header. The families of the model
 * inventory are registered at construction (absent from scrapes until Ollama answers `/api/ps`),
 * so no Ollama is needed. The test runs with `--allow-all`, under which the fd gauges exist too.
 *
 * What the table promises is also what `deno task start` serves: an exporter process started with
 * exactly the start task's flags (read from deno.json) exposes every family of the table but the
 * ones marked "only with `--allow-all`", and none of those.
 */

import assert from "node:assert/strict";
import { CONFIG_SETTINGS, loadConfig } from "../lib/config.ts";
import { Exporter } from "../lib/exporter.ts";
import { Logger } from "../lib/log.ts";
import { ExporterProcess, freePort, START_FLAGS } from "./support/exporter_process.ts";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));

/** One table row: its cells, trimmed, and the README line it is on. */
interface Row {
  readonly cells: readonly string[];
  readonly line: number;
}

/**
 * The rows (header and separator left out) of the first table under the `## heading` section.
 *
 * @throws {Error} when the section or its table is missing.
 */
function tableUnder(heading: string): Row[] {
  const lines = README.split("\n");
  const start = lines.indexOf(`## ${heading}`);
  if (start === -1) throw new Error(`Cannot find the table: README.md has no "## ${heading}"`);
  let index = start + 1;
  while (index < lines.length && !lines[index]!.startsWith("|")) {
    if (lines[index]!.startsWith("## ")) break;
    index++;
  }
  const rows: Row[] = [];
  for (; index < lines.length && lines[index]!.startsWith("|"); index++) {
    const cells = lines[index]!.replace(/^\|/, "").replace(/\|\s*$/, "").split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    rows.push({ cells, line: index + 1 });
  }
  if (rows.length < 3) {
    throw new Error(`Cannot find the table: README.md's "## ${heading}" has no table with rows`);
  }
  return rows.slice(2);
}

/** The text between the first pair of backticks of `cell`, or `undefined`. */
function code(cell: string | undefined): string | undefined {
  return cell?.match(/`([^`]+)`/)?.[1];
}

/** Items of `actual` missing from `expected`, and the other way round, for one message. */
function difference(what: string, documented: Iterable<string>, actual: Iterable<string>): string {
  const inReadme = new Set(documented);
  const inCode = new Set(actual);
  const missing = [...inCode].filter((name) => !inReadme.has(name)).sort();
  const extra = [...inReadme].filter((name) => !inCode.has(name)).sort();
  return [
    missing.length > 0 ? `missing from README.md's ${what} table: ${missing.join(", ")}` : "",
    extra.length > 0 ? `in README.md's ${what} table but not in the code: ${extra.join(", ")}` : "",
  ].filter((line) => line !== "").join("\n");
}

Deno.test("README Configuration table: every setting of CONFIG_SETTINGS, flag and default", () => {
  const rows = tableUnder("Configuration");
  const documented = new Map(rows.map((row) => [code(row.cells[0]) ?? "", row]));
  assert.equal(
    difference(
      "Configuration",
      documented.keys(),
      CONFIG_SETTINGS.map((setting) => setting.env),
    ),
    "",
  );
  assert.equal(documented.size, rows.length, "each variable has one row");
  for (const setting of CONFIG_SETTINGS) {
    const row = documented.get(setting.env)!;
    const where = `README.md line ${row.line} (${setting.env})`;
    assert.equal(code(row.cells[1]), `--${setting.flag}`, `${where}: the flag`);
    if (setting.fallback === "") assert.equal(row.cells[2], "(none)", `${where}: the default`);
    else assert.equal(code(row.cells[2]), setting.fallback, `${where}: the default`);
    assert.ok((row.cells[3] ?? "").length > 0, `${where}: the meaning is empty`);
  }
});

/** Name, type and label names of every family an exporter configured by `env` registers. */
async function registeredFamilies(
  env: Record<string, string>,
): Promise<Map<string, { type: string; labels: readonly string[] }>> {
  const logger = new Logger("ERROR", { sink: () => {} });
  const offline: typeof fetch = () => Promise.reject(new Error("no Ollama in this test"));
  const exporter = new Exporter(loadConfig(env), { logger, fetch: offline });
  try {
    const families = await exporter.registry.collect();
    return new Map(
      families.map((family) => [family.name, { type: family.type, labels: family.labelNames }]),
    );
  } finally {
    await exporter.close();
  }
}

/** The mark of a family registered only when Ollama's parallelism is given. */
const PARALLEL_ONLY = "registered only when `OLLAMA_NUM_PARALLEL` is set";

Deno.test("README Metrics table: every family of a running exporter, type and labels", async () => {
  const plain = await registeredFamilies({ OLLAMA_NUM_PARALLEL: "1" });
  const withClient = await registeredFamilies({
    CLIENT_HEADER: "X-Client-Name",
    OLLAMA_NUM_PARALLEL: "1",
  });
  assert.deepEqual([...withClient.keys()].sort(), [...plain.keys()].sort());

  const rows = tableUnder("Metrics");
  const documented = new Map(rows.map((row) => [code(row.cells[0]) ?? "", row]));
  // Without the parallelism, exactly the families marked so are missing.
  const parallelOnly = rows.filter((row) => (row.cells[3] ?? "").includes(PARALLEL_ONLY))
    .map((row) => code(row.cells[0]) ?? "");
  assert.deepEqual(parallelOnly, ["ollama_requests_waiting"]);
  const unset = await registeredFamilies({});
  assert.deepEqual(
    [...plain.keys()].filter((name) => !unset.has(name)),
    parallelOnly,
    "the families registered only with OLLAMA_NUM_PARALLEL",
  );
  assert.equal(difference("Metrics", documented.keys(), plain.keys()), "");
  assert.equal(documented.size, rows.length, "each family has one row");
  for (const [name, family] of plain) {
    const row = documented.get(name)!;
    const where = `README.md line ${row.line} (${name})`;
    assert.equal(row.cells[1], family.type, `${where}: the type`);
    const labels = row.cells[2] ?? "";
    const optional = labels.match(/\(\+ ([^)]*)\)/)?.[1]?.split(",").map((l) => l.trim()) ?? [];
    const always = labels.replace(/\(\+ [^)]*\)/, "").split(",").map((label) => label.trim())
      .filter((label) => label !== "");
    assert.deepEqual(always, family.labels, `${where}: the labels`);
    assert.deepEqual(
      [...always, ...optional],
      withClient.get(name)!.labels,
      `${where}: the labels with CLIENT_HEADER set (optional ones as "(+ client)")`,
    );
    assert.ok((row.cells[3] ?? "").length > 0, `${where}: the meaning is empty`);
  }
});

Deno.test("README Metrics table: deno task start serves all but the --allow-all-only families", async () => {
  const rows = tableUnder("Metrics");
  const allowAllOnly = rows.filter((row) =>
    (row.cells[3] ?? "").includes("only with `--allow-all`")
  )
    .map((row) => code(row.cells[0]) ?? "");
  assert.deepEqual(allowAllOnly.sort(), ["process_max_fds", "process_open_fds"]);
  const parallelOnly = rows.filter((row) => (row.cells[3] ?? "").includes(PARALLEL_ONLY))
    .map((row) => code(row.cells[0]) ?? "");
  const promised = rows.map((row) => code(row.cells[0]) ?? "")
    .filter((name) => !allowAllOnly.includes(name) && !parallelOnly.includes(name));

  const process = await ExporterProcess.start(["run", ...START_FLAGS, "main.ts"], {
    env: { OLLAMA_HOST: `127.0.0.1:${freePort()}`, LOG_LEVEL: "ERROR" },
  });
  try {
    const body = await (await fetch(`${process.url}/metrics`)).text();
    const served = [...body.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1] as string);
    assert.equal(difference("Metrics", promised, served), "");
    assert.match(body, /^process_resident_memory_bytes \d+$/m);
    assert.match(body, /^process_cpu_seconds_total [\d.e-]+$/m);
  } finally {
    process.kill("SIGTERM");
    const { code } = await process.exit();
    assert.equal(code, 0);
  }
});
