/**
 * `deploy/demo.ts` as users run it (`deno task demo`): its own process, for a few seconds, with
 * `/metrics` scraped while the traffic runs.
 */
import assert from "node:assert/strict";
import { parseExposition } from "./support/exposition.ts";
import { freePort } from "./support/exporter_process.ts";

const REQUESTS_SERIES = /^ollama_requests_total\{(.*)\}$/;

/** `model` and `client` of every `ollama_requests_total` series with a count above 0. */
function requestLabels(text: string): { models: Set<string>; clients: Set<string> } {
  const models = new Set<string>();
  const clients = new Set<string>();
  for (const [series, value] of parseExposition(text)) {
    const labels = REQUESTS_SERIES.exec(series)?.[1];
    if (labels === undefined || !(value > 0)) continue;
    const model = /(?:^|,)model="([^"]*)"/.exec(labels)?.[1];
    const client = /(?:^|,)client="([^"]*)"/.exec(labels)?.[1];
    if (model) models.add(model);
    if (client) clients.add(client);
  }
  return { models, clients };
}

Deno.test("deno run deploy/demo.ts --duration 3: traffic from named clients, then exit 0", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "deploy/demo.ts", "--duration", "3", "--port", String(port)],
    cwd: new URL("..", import.meta.url).pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.finally(() => exited = true);
  let lastScrape = "";
  let seen = { models: new Set<string>(), clients: new Set<string>() };
  try {
    const deadline = Date.now() + 20_000;
    while (!exited && Date.now() < deadline) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`);
        lastScrape = await response.text();
        if (response.ok) seen = requestLabels(lastScrape);
        if (seen.models.size >= 2 && seen.clients.size >= 2) break;
      } catch {
        // Not listening yet (or already gone).
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    // The demo stops by itself; a stuck one is killed so that the test ends.
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await status;
    clearTimeout(timer);
  }
  const { code } = await status;
  const out = await stdout;
  const err = await stderr;
  assert.ok(
    seen.models.size >= 2 && seen.clients.size >= 2,
    `expected requests of 2+ models from 2+ clients, saw models ${[...seen.models]} and ` +
      `clients ${[...seen.clients]}; last scrape:\n${lastScrape}\nstdout:\n${out}\nstderr:\n${err}`,
  );
  assert.equal(code, 0, `exit code ${code}; stderr:\n${err}`);
  assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${port}/metrics`));
  assert.match(out, /curl -s/);
  assert.match(out, /requests \d+ .* tokens in \d/);
  assert.match(out, /stopped: traffic ended, servers shut down\n$/);
});
