/**
 * Which build runs: `--version` prints the exporter's version (deno.json) and Deno's, and
 * `ollama_exporter_build_info{version,deno}` is 1 on every registry the exporter builds.
 */
import assert from "node:assert/strict";
import { registerBuildInfo, VERSION, versionLine } from "../lib/build_info.ts";
import { loadConfig } from "../lib/config.ts";
import { Exporter } from "../lib/exporter.ts";
import { Logger } from "../lib/log.ts";
import { Registry } from "../lib/metrics/registry.ts";
import { encodeText } from "../lib/metrics/text_format.ts";

const PROJECT = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));

Deno.test("VERSION is deno.json's version", () => {
  assert.match(PROJECT.version, /^\d+\.\d+\.\d+/);
  assert.equal(VERSION, PROJECT.version);
  assert.equal(versionLine(), `ollama-exporter ${PROJECT.version} (deno ${Deno.version.deno})`);
});

Deno.test("--version prints one line and exits 0, before reading any setting", async () => {
  // No permissions at all, and a setting that would stop start-up: --version needs neither.
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "main.ts", "--version"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { PORT: "not a port" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(decoder.decode(output.stderr), "");
  assert.equal(output.code, 0);
  assert.equal(
    decoder.decode(output.stdout),
    `ollama-exporter ${PROJECT.version} (deno ${Deno.version.deno})\n`,
  );
});

Deno.test("ollama_exporter_build_info{version,deno} 1", async () => {
  const registry = new Registry();
  registerBuildInfo(registry);
  assert.equal(
    encodeText(await registry.collect()),
    "# HELP ollama_exporter_build_info Always 1; the labels name the exporter's version and " +
      "the Deno runtime's.\n" +
      "# TYPE ollama_exporter_build_info gauge\n" +
      `ollama_exporter_build_info{version="${PROJECT.version}",deno="${Deno.version.deno}"} 1\n`,
  );
  const exporter = new Exporter(loadConfig({}), {
    logger: new Logger("ERROR", { sink: () => {} }),
  });
  try {
    const text = encodeText(await exporter.registry.collect());
    const lines = text.split("\n").filter((line) => line.startsWith("ollama_exporter_build_info"));
    assert.deepEqual(lines, [
      `ollama_exporter_build_info{version="${PROJECT.version}",deno="${Deno.version.deno}"} 1`,
    ]);
  } finally {
    await exporter.close();
  }
});
