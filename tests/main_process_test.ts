/**
 * The exporter as users run it: `deno task start` and `deno run main.ts` as their own processes,
 * start-up without Ollama, bad configuration, and draining on SIGTERM and SIGINT.
 */
import assert from "node:assert/strict";
import { OllamaSimulator } from "./support/ollama_simulator.ts";
import { ExporterProcess, freePort, START_FLAGS } from "./support/exporter_process.ts";

Deno.test("deno task start with no Ollama running: starts, warns, serves ollama_up 0", async () => {
  const dead = freePort();
  const process = await ExporterProcess.start(["task", "start"], {
    env: { OLLAMA_HOST: `127.0.0.1:${dead}` },
  });
  const metrics = await (await fetch(`${process.url}/metrics`)).text();
  assert.match(metrics, /^ollama_up 0$/m);
  assert.match(metrics, /^process_resident_memory_bytes \d+$/m);
  const ready = await fetch(`${process.url}/readyz`);
  assert.equal(ready.status, 503);
  await ready.body?.cancel();
  process.kill("SIGTERM");
  const { code, stderr } = await process.exit();
  assert.equal(code, 0);
  assert.match(
    stderr,
    new RegExp(`WARN  Ollama does not answer.*upstream=http://127.0.0.1:${dead}`),
  );
  assert.match(stderr, /INFO {2}shutting down: draining in-flight requests signal=SIGTERM/);
});

Deno.test("a bad setting stops start-up with one line naming it", async () => {
  const cases: [Record<string, string>, string][] = [
    [
      { PORT: "-1" },
      'ollama-exporter: Cannot parse PORT "-1": expected a whole number from 0 to 65535',
    ],
    [
      { METRICS_TOKEN: "abc" },
      "ollama-exporter: Cannot parse METRICS_TOKEN (value hidden): it is shorter than 8 characters",
    ],
    [
      { OLLAMA_HOST: "ftp://x" },
      'ollama-exporter: Cannot parse OLLAMA_HOST "ftp://x": scheme "ftp" is not http or https',
    ],
    [
      { API_KEYS: "alice" },
      "ollama-exporter: Cannot parse API_KEYS: entry 1 is not of the form name:key",
    ],
  ];
  for (const [env, message] of cases) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...START_FLAGS, "main.ts"],
      cwd: new URL("..", import.meta.url).pathname,
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 2);
    assert.equal(new TextDecoder().decode(output.stderr), message + "\n");
  }
});

Deno.test("SIGTERM: in-flight streams finish, new connections are refused, exit 0", async () => {
  const simulator = await OllamaSimulator.start({ tokenDelayMs: 50 });
  try {
    const process = await ExporterProcess.start(["run", ...START_FLAGS, "main.ts"], {
      env: { OLLAMA_HOST: simulator.url, SHUTDOWN_GRACE_SECONDS: "10" },
    });
    const response = await fetch(`${process.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2", prompt: "count", options: { num_predict: 20 } }),
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = (await reader.read()).value ?? "";
    process.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(fetch(`${process.url}/healthz`), "no new connections while draining");
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }
    const lines = text.trimEnd().split("\n");
    assert.equal(lines.length, 21, "every chunk arrived");
    assert.equal(JSON.parse(lines.at(-1)!).done, true);
    const { code, stderr } = await process.exit();
    assert.equal(code, 0);
    assert.match(stderr, /drained: every in-flight request finished/);
    assert.match(
      stderr,
      /proxied method=POST path=\/api\/generate model=llama3.2:latest status=200/,
    );
  } finally {
    await simulator.close();
  }
});

// main.ts stops on SIGTERM (process managers, Docker, Kubernetes) and on SIGINT (Ctrl-C) alike.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal}: after the grace period the exporter exits 0 anyway`, async () => {
    const simulator = await OllamaSimulator.start({ tokenDelayMs: 100 });
    try {
      const process = await ExporterProcess.start(["run", ...START_FLAGS, "main.ts"], {
        env: { OLLAMA_HOST: simulator.url, SHUTDOWN_GRACE_SECONDS: "0.3" },
      });
      const response = await fetch(`${process.url}/api/generate`, {
        method: "POST",
        body: JSON.stringify({ model: "llama3.2", prompt: "count", options: { num_predict: 100 } }),
      });
      const reader = response.body!.getReader();
      await reader.read();
      const sent = performance.now();
      process.kill(signal);
      const { code, stderr } = await process.exit();
      const took = performance.now() - sent;
      assert.equal(code, 0, `exit code after ${signal}; stderr:\n${stderr}`);
      assert.ok(took < 3000, `exited ${took.toFixed(0)} ms after the signal`);
      assert.match(
        stderr,
        new RegExp(
          `INFO {2}shutting down: draining in-flight requests signal=${signal} grace_seconds=0\\.3$`,
          "m",
        ),
      );
      assert.match(stderr, /WARN {2}grace period over: closing the remaining connections$/m);
      assert.doesNotMatch(stderr, /drained: every in-flight request finished/);
      await reader.cancel().catch(() => {});
      for (const request of simulator.requests) await request.finished;
    } finally {
      await simulator.close();
    }
  });
}
