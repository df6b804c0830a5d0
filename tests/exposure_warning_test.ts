/**
 * Listening beyond loopback with the proxy or `/metrics` open logs one WARN line at start-up
 * saying what is open and how to close it; on loopback, or with keys and token, nothing.
 */
import assert from "node:assert/strict";
import { exposureWarning } from "../lib/exposure_warning.ts";
import { ExporterProcess, freePort } from "./support/exporter_process.ts";

const OPEN = { apiKeys: "", apiKeysFile: "", metricsToken: "" };
const BOTH =
  "the proxy and /metrics are open to the network: anyone who can reach this port can use " +
  "Ollama through it and read the metrics; set API_KEYS (or API_KEYS_FILE) and METRICS_TOKEN, " +
  "or LISTEN_HOST=127.0.0.1 to serve this machine only";

Deno.test("exposureWarning: what is open, by listen address and credentials", () => {
  assert.equal(exposureWarning({ ...OPEN, listenHost: "0.0.0.0" }), BOTH);
  assert.equal(exposureWarning({ ...OPEN, listenHost: "::" }), BOTH);
  assert.equal(exposureWarning({ ...OPEN, listenHost: "192.168.1.20" }), BOTH);
  assert.equal(
    exposureWarning({ ...OPEN, listenHost: "0.0.0.0", metricsToken: "scrape-secret" }),
    "the proxy is open to the network: anyone who can reach this port can use Ollama through " +
      "it; set API_KEYS (or API_KEYS_FILE), or LISTEN_HOST=127.0.0.1 to serve this machine only",
  );
  const metricsOnly = "/metrics is open to the network: anyone who can reach this port can read " +
    "the metrics (model names, key names, traffic); set METRICS_TOKEN, or LISTEN_HOST=127.0.0.1 " +
    "to serve this machine only";
  assert.equal(
    exposureWarning({ ...OPEN, listenHost: "0.0.0.0", apiKeys: "a:12345678" }),
    metricsOnly,
  );
  assert.equal(
    exposureWarning({ ...OPEN, listenHost: "0.0.0.0", apiKeysFile: "/run/secrets/keys" }),
    metricsOnly,
  );
  assert.equal(
    exposureWarning({
      listenHost: "0.0.0.0",
      apiKeys: "a:12345678",
      apiKeysFile: "",
      metricsToken: "scrape-secret",
    }),
    null,
  );
  for (const loopback of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) {
    assert.equal(exposureWarning({ ...OPEN, listenHost: loopback }), null, loopback);
  }
});

Deno.test("start-up on 0.0.0.0 without keys: one WARN line after listening (LOG_FORMAT=json)", async () => {
  const port = freePort();
  const process = await ExporterProcess.start(["task", "start"], {
    port,
    env: { LISTEN_HOST: "0.0.0.0", LOG_FORMAT: "json", OLLAMA_HOST: `127.0.0.1:${freePort()}` },
  });
  process.kill("SIGTERM");
  const { code, stderr } = await process.exit();
  assert.equal(code, 0);
  const records = stderr.trimEnd().split("\n").filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
  const listening = records.findIndex((r) => r.message === "listening");
  assert.ok(listening >= 0, stderr);
  assert.equal(records[listening].address, `0.0.0.0:${port}`);
  const warnings = records.filter((r) => r.message === BOTH);
  assert.equal(warnings.length, 1, stderr);
  assert.deepEqual({ ...warnings[0], time: "T" }, {
    time: "T",
    level: "WARN",
    message: BOTH,
    address: `0.0.0.0:${port}`,
  });
  assert.equal(records[listening + 1].message, BOTH, "right after the listening line");
});
