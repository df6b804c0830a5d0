/**
 * The OpenTelemetry variables that `compose.yaml` and both Kubernetes layouts carry commented out
 * (issue #15): uncommented, each file still parses, the exporter's environment gains exactly
 * Deno's OpenTelemetry switch, an OTLP/HTTP endpoint, the service name, the resource attributes
 * and the export interval, and the exporter's own settings are unchanged.
 */
import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "npm:yaml@2.9.1";
import { CONFIG_SETTINGS } from "../lib/config.ts";

const ROOT = new URL("../", import.meta.url);
const CONFIG_ENV = new Set(CONFIG_SETTINGS.map((setting) => setting.env));
const OTEL_NAMES = [
  "OTEL_DENO",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_METRIC_EXPORT_INTERVAL",
];

/**
 * The file with the commented-out OpenTelemetry block turned on: every comment line after the
 * block's introduction (`# OpenTelemetry (off by default)`) that reads as YAML (`NAME: value`,
 * `- name: ...`) loses its `# `, up to the first comment line that is prose again.
 */
function uncommented(text: string): { text: string; lines: number } {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => /^\s*# OpenTelemetry \(off by default\)/.test(line));
  assert.ok(start >= 0, "no commented-out OpenTelemetry block");
  let turned = 0;
  for (let i = start + 1; i < lines.length && /^\s*#/.test(lines[i]!); i++) {
    const line = lines[i]!;
    const body = line.replace(/^(\s*)# ?/, "$1");
    // Prose before the block (its introduction) is skipped; prose after it ends the block.
    if (!/^\s*(- name: |[A-Za-z_]+:( |$))/.test(body)) {
      if (turned === 0) continue;
      break;
    }
    lines[i] = body;
    turned++;
  }
  return { text: lines.join("\n"), lines: turned };
}

/** Name → value of a Kubernetes container's `env` (values from `valueFrom` as `""`). */
function containerEnv(container: { env?: { name: string; value?: string }[] }) {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? ""]));
}

function assertOtel(env: Record<string, string>, where: string): void {
  assert.equal(env.OTEL_DENO, "true", `${where}: Deno accepts only "true"`);
  const endpoint = new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT!);
  assert.equal(endpoint.protocol, "http:", where);
  assert.equal(endpoint.port, "4318", `${where}: OTLP/HTTP's port (Deno speaks http/protobuf)`);
  assert.equal(env.OTEL_SERVICE_NAME, "ollama-exporter", where);
  assert.match(env.OTEL_RESOURCE_ATTRIBUTES!, /^[a-z0-9_.]+=[^,]+(,[a-z0-9_.]+=[^,]+)*$/, where);
  assert.ok(Number(env.OTEL_METRIC_EXPORT_INTERVAL) >= 1000, where);
  for (const name of Object.keys(env)) {
    assert.ok(
      CONFIG_ENV.has(name) || OTEL_NAMES.includes(name) || name === "POD_NAME",
      `${where}: ${name} is neither a setting nor one of Deno's OpenTelemetry variables`,
    );
  }
}

Deno.test("compose.yaml: the commented-out OpenTelemetry variables, turned on, are valid", async () => {
  const text = await Deno.readTextFile(new URL("compose.yaml", ROOT));
  const before = parse(text).services.exporter.environment as Record<string, string>;
  const { text: on, lines } = uncommented(text);
  assert.equal(lines, 5);
  const after = parse(on).services.exporter.environment as Record<string, string>;
  assertOtel(after, "compose.yaml");
  for (const [name, value] of Object.entries(before)) assert.equal(after[name], value, name);
});

for (
  const file of ["deploy/kubernetes/deployment.yaml", "deploy/kubernetes/sidecar/statefulset.yaml"]
) {
  Deno.test(`${file}: the commented-out OpenTelemetry variables, turned on, are valid`, async () => {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    const exporterOf = (yaml: string) => {
      const workload = parseAllDocuments(yaml).map((d) => d.toJS()).find((d) =>
        d?.kind === "Deployment" || d?.kind === "StatefulSet"
      );
      return workload.spec.template.spec.containers.find((c: { name: string }) =>
        c.name === "exporter"
      );
    };
    const before = containerEnv(exporterOf(text));
    const { text: on, lines } = uncommented(text);
    assert.equal(lines, 14);
    const container = exporterOf(on);
    const after = containerEnv(container);
    assertOtel(after, file);
    // The pod's name reaches the resource attributes through the downward API, defined first.
    const names = container.env.map((e: { name: string }) => e.name);
    assert.ok(names.indexOf("POD_NAME") < names.indexOf("OTEL_RESOURCE_ATTRIBUTES"), file);
    const pod = container.env.find((e: { name: string }) => e.name === "POD_NAME");
    assert.equal(pod.valueFrom.fieldRef.fieldPath, "metadata.name");
    assert.equal(after.OTEL_RESOURCE_ATTRIBUTES, "k8s.pod.name=$(POD_NAME)");
    for (const [name, value] of Object.entries(before)) assert.equal(after[name], value, name);
  });
}
