/**
 * A 60 MB /api/embed answer through the exporter, running as its own process so its memory can
 * be read from /proc: the body must flow through without being held, and the numbers Ollama
 * writes after the vectors must still be exact.
 */
import assert from "node:assert/strict";
import { OllamaSimulator } from "./support/ollama_simulator.ts";
import { ExporterProcess, START_FLAGS } from "./support/exporter_process.ts";
import { parseExposition, sample } from "./support/exposition.ts";

Deno.test("a 60 MB embedding passes with memory growth far below its size; numbers exact", async () => {
  // About 8.45 bytes per component: 7.2 million components make about 60 MB.
  const simulator = await OllamaSimulator.start({ embedDimensions: 7_200_000 });
  const process = await ExporterProcess.start(["run", ...START_FLAGS, "main.ts"], {
    env: { OLLAMA_HOST: simulator.url, LOG_LEVEL: "WARNING" },
  });
  try {
    // Warm up the code paths, then measure from a settled baseline.
    const warm = await fetch(`${process.url}/api/embed`, {
      method: "POST",
      body: JSON.stringify({ model: "nomic-embed-text", input: "warm", dimensions: 16 }),
    });
    await warm.body?.cancel();
    const before = await process.memory("VmRSS");
    const response = await fetch(`${process.url}/api/embed`, {
      method: "POST",
      body: JSON.stringify({ model: "nomic-embed-text", input: "a large vector" }),
    });
    assert.equal(response.status, 200);
    let bytes = 0;
    let tail = "";
    const decoder = new TextDecoder();
    for await (const chunk of response.body!) {
      bytes += chunk.length;
      tail = (tail + decoder.decode(chunk.subarray(Math.max(0, chunk.length - 512)))).slice(-512);
    }
    const peak = await process.memory("VmHWM");
    const growth = peak - before;
    console.log(
      `body ${(bytes / 1e6).toFixed(1)} MB, exporter RSS before ${(before / 1e6).toFixed(1)} MB, ` +
        `peak ${(peak / 1e6).toFixed(1)} MB, growth ${(growth / 1e6).toFixed(1)} MB`,
    );
    assert.ok(bytes > 60e6, `body of ${bytes} bytes`);
    assert.match(tail, /"prompt_eval_count":\d+\}$/);
    // V8 frees the chunks' buffers lazily, so the exporter's peak rises by a fixed amount (about
    // 35 MB here, the same for a 200 MB body), not by the body's size.
    assert.ok(growth < 48 * 1024 * 1024, `RSS grew by ${(growth / 1e6).toFixed(1)} MB`);
    const expected = simulator.expectedEmbedding("nomic-embed-text", "a large vector").metrics;
    let samples = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      samples = parseExposition(await (await fetch(`${process.url}/metrics`)).text());
      if (sample(samples, "ollama_tokens_processed_total", { model: "nomic-embed-text:latest" })) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const model = { model: "nomic-embed-text:latest" };
    assert.equal(
      sample(samples, "ollama_tokens_processed_total", model),
      expected.prompt_eval_count + simulator.expectedEmbedding("nomic-embed-text", "warm").metrics
        .prompt_eval_count,
    );
    assert.equal(sample(samples, "ollama_total_duration_seconds_count", model), 2);
  } finally {
    process.kill("SIGTERM");
    await process.exit();
    await simulator.close();
  }
});
