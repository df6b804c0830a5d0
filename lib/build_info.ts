/**
 * Which build runs: the exporter's version (deno.json's `"version"`, imported as a JSON module so
 * that `deno compile` and the container image carry it without reading files at run time) and
 * the Deno runtime's. `--version` prints them; `ollama_exporter_build_info` exports them.
 *
 * @module
 */

import project from "../deno.json" with { type: "json" };
import { Gauge } from "./metrics/gauge.ts";
import type { Registry } from "./metrics/registry.ts";

/** The exporter's version, from deno.json. */
export const VERSION: string = project.version;

/** What `--version` prints: `ollama-exporter 0.1.0 (deno 2.9.6)`. */
export function versionLine(): string {
  return `ollama-exporter ${VERSION} (deno ${Deno.version.deno})`;
}

/**
 * Registers `ollama_exporter_build_info{version,deno}`, always 1, so that a dashboard can show
 * which build each instance runs.
 *
 * @param registry where the gauge is registered.
 */
export function registerBuildInfo(registry: Registry): Gauge {
  const gauge = registry.register(
    new Gauge({
      name: "ollama_exporter_build_info",
      help: "Always 1; the labels name the exporter's version and the Deno runtime's.",
      labelNames: ["version", "deno"],
    }),
  );
  gauge.labels(VERSION, Deno.version.deno).set(1);
  return gauge;
}
