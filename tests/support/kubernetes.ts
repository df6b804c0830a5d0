/**
 * Test helper for the Kubernetes manifests in deploy/kubernetes (the standalone Deployment and the
 * sidecar StatefulSet): reading a directory of YAML manifests, the small facts the tests read off
 * them, `kubectl kustomize` when kubectl is installed, and the real exporter handler served on
 * 127.0.0.1 so the probe and scrape paths can be requested as the kubelet and Prometheus would.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseAllDocuments } from "npm:yaml@2.9.1";
import type { Config } from "../../lib/config.ts";
import { Exporter } from "../../lib/exporter.ts";
import { Logger } from "../../lib/log.ts";

/** One parsed manifest (any kind). */
// deno-lint-ignore no-explicit-any
export type Manifest = Record<string, any>;

/** Every document of a YAML text, failing on parse errors; `name` says where it came from. */
export function yamlDocuments(text: string, name: string): Manifest[] {
  const parsed = parseAllDocuments(text);
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const manifests: Manifest[] = [];
  for (const document of list) {
    assert.deepEqual(document.errors.map((error) => error.message), [], `${name} does not parse`);
    const value = document.toJS() as Manifest | null;
    if (value !== null) manifests.push(value);
  }
  return manifests;
}

/** Every document of every YAML file directly in `directory`, by file name. */
export async function readManifests(directory: URL): Promise<Map<string, Manifest[]>> {
  const files = new Map<string, Manifest[]>();
  for await (const entry of Deno.readDir(directory)) {
    if (!entry.isFile || !/\.ya?ml$/.test(entry.name)) continue;
    const text = await Deno.readTextFile(new URL(entry.name, directory));
    files.set(entry.name, yamlDocuments(text, entry.name));
  }
  return files;
}

/** Whether a `matchLabels` selector selects `labels`. */
export function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** The seconds a container's preStop hook waits (`exec: sleep N` or the `sleep` action), or 0. */
export function preStopSeconds(container: Manifest): number {
  const preStop = container.lifecycle?.preStop as Manifest | undefined;
  if (!preStop) return 0;
  if (preStop.sleep) return Number(preStop.sleep.seconds);
  const command = preStop.exec?.command as string[] | undefined;
  assert.ok(command && command[0] === "sleep", `preStop should sleep, got ${command}`);
  return Number(command[1]);
}

/** Whether `kubectl` is on the PATH (the kustomize tests are skipped without it). */
export async function hasKubectl(): Promise<boolean> {
  try {
    const output = await new Deno.Command("kubectl", {
      args: ["version", "--client"],
      stdout: "null",
      stderr: "null",
    }).output();
    return output.success;
  } catch {
    return false;
  }
}

/** `kubectl kustomize <directory>`, which must succeed, as parsed manifests. */
export async function kustomize(directory: URL): Promise<Manifest[]> {
  const output = await new Deno.Command("kubectl", {
    args: ["kustomize", directory.pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(output.code, 0, decoder.decode(output.stderr));
  return yamlDocuments(decoder.decode(output.stdout), "kubectl kustomize output");
}

/** What a request to the served exporter got. */
export interface Answer {
  readonly status: number;
  readonly text: string;
}

/**
 * Runs `body` with the real exporter handler for `config` served on 127.0.0.1, in front of an
 * Ollama that is up (version 0.13.5, no models) but not yet checked: `get(path)` requests a path of
 * it. Stops the server and the exporter afterwards, whatever happens.
 */
export async function withServedExporter(
  config: Config,
  body: (exporter: Exporter, get: (path: string) => Promise<Answer>) => Promise<void>,
): Promise<void> {
  const logger = new Logger("ERROR", { sink: () => {} });
  // Ollama as the exporter's health check sees it: up, version 0.13.5, no models.
  const ollama: typeof fetch = (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = url.pathname === "/api/version" ? { version: "0.13.5" } : { models: [] };
    return Promise.resolve(Response.json(body));
  };
  const exporter = new Exporter(config, { logger, fetch: ollama });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    exporter.handler,
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const get = async (path: string): Promise<Answer> => {
    const response = await fetch(base + path);
    return { status: response.status, text: await response.text() };
  };
  try {
    await body(exporter, get);
  } finally {
    await server.shutdown();
    await exporter.close();
  }
}
