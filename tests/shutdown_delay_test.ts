/**
 * SHUTDOWN_DELAY_SECONDS, with the exporter as its own process: after SIGTERM it keeps serving
 * everything with `/readyz` at 503 for the delay (what a load balancer that health-checks
 * expects), then stops accepting connections, drains, and exits 0.
 */
import assert from "node:assert/strict";
import { OllamaSimulator } from "./support/ollama_simulator.ts";
import { ExporterProcess, START_FLAGS } from "./support/exporter_process.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `url` until it answers `status` (up to 5 s); returns the parsed JSON body. */
async function waitForStatus(url: string, status: number): Promise<unknown> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const response = await fetch(url);
    const body = await response.json();
    if (response.status === status) return body;
    if (Date.now() > deadline) throw new Error(`${url} still answers ${response.status}`);
    await sleep(20);
  }
}

/** Whether a new TCP connection to `port` is accepted. */
async function accepts(port: number): Promise<boolean> {
  try {
    const connection = await Deno.connect({ hostname: "127.0.0.1", port });
    connection.close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("SHUTDOWN_DELAY_SECONDS: /readyz 503 and requests served during the delay, then drain", async () => {
  const simulator = await OllamaSimulator.start({ tokenDelayMs: 30 });
  try {
    const process = await ExporterProcess.start(["run", ...START_FLAGS, "main.ts"], {
      env: {
        OLLAMA_HOST: simulator.url,
        SHUTDOWN_DELAY_SECONDS: "1",
        SHUTDOWN_GRACE_SECONDS: "10",
      },
    });
    const port = Number(new URL(process.url).port);
    assert.deepEqual(await waitForStatus(`${process.url}/readyz`, 200), { status: "ready" });
    const signalled = performance.now();
    process.kill("SIGTERM");

    // During the delay: not ready, but everything else is served, on new connections too.
    assert.deepEqual(await waitForStatus(`${process.url}/readyz`, 503), {
      status: "not ready",
      reason: "shutting down",
    });
    const health = await fetch(`${process.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const answer = await fetch(`${process.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2", prompt: "hi", stream: false }),
    });
    assert.equal(answer.status, 200);
    assert.equal((await answer.json()).done, true);
    // A stream started during the delay (100 tokens, 30 ms apart: about 3 s) outlives it.
    const stream = await fetch(`${process.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2", prompt: "count", options: { num_predict: 100 } }),
    });
    assert.equal(stream.status, 200);
    const reading = stream.text();
    assert.ok(await accepts(port), "new connections are accepted during the delay");

    // After the delay: no new connections, while the stream is drained to its end.
    while (await accepts(port)) await sleep(25);
    const closedAfter = performance.now() - signalled;
    assert.ok(closedAfter >= 950, `listener closed ${closedAfter.toFixed(0)} ms after SIGTERM`);
    const lines = (await reading).trimEnd().split("\n");
    assert.equal(lines.length, 101, "every chunk of the stream arrived");
    assert.equal(JSON.parse(lines.at(-1)!).done, true);

    const { code, stderr } = await process.exit();
    assert.equal(code, 0);
    const delayLine = stderr.search(
      /INFO {2}shutting down: \/readyz answers 503, still serving until the delay is over signal=SIGTERM delay_seconds=1\n/,
    );
    const drainLine = stderr.search(
      /INFO {2}shutting down: draining in-flight requests signal=SIGTERM grace_seconds=10\n/,
    );
    const drainedLine = stderr.search(/INFO {2}drained: every in-flight request finished\n/);
    assert.ok(delayLine > 0 && drainLine > delayLine && drainedLine > drainLine, stderr);
  } finally {
    await simulator.close();
  }
});

Deno.test("SHUTDOWN_DELAY_SECONDS: a second signal cuts the delay short", async () => {
  const simulator = await OllamaSimulator.start({});
  try {
    const process = await ExporterProcess.start(["run", ...START_FLAGS, "main.ts"], {
      env: { OLLAMA_HOST: simulator.url, SHUTDOWN_DELAY_SECONDS: "60" },
    });
    process.kill("SIGTERM");
    assert.deepEqual(await waitForStatus(`${process.url}/readyz`, 503), {
      status: "not ready",
      reason: "shutting down",
    });
    const signalled = performance.now();
    process.kill("SIGINT");
    const { code, stderr } = await process.exit();
    const took = performance.now() - signalled;
    assert.equal(code, 0);
    assert.ok(took < 5000, `exited ${took.toFixed(0)} ms after the second signal`);
    assert.match(stderr, /delay_seconds=60\n.*draining in-flight requests signal=SIGTERM/s);
  } finally {
    await simulator.close();
  }
});
