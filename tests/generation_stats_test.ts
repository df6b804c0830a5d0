/**
 * Numbers Ollama reports are checked before they are counted: token counts and durations must be
 * non-negative safe integers, else the request's stats are dropped and it counts as
 * `invalid_stats`. One bad answer must not turn a counter into `+Inf` or a fraction for good.
 */
import assert from "node:assert/strict";
import { Counter } from "../lib/metrics/counter.ts";
import { statsFromOllama, statsFromTail, statsFromUsage } from "../lib/observe/generation_stats.ts";
import { type ExporterHarness, withHarness } from "./support/exporter_harness.ts";

Deno.test("statsFromOllama: valid numbers are kept, the first bad field is named", () => {
  assert.deepEqual(
    statsFromOllama({
      done_reason: "stop",
      prompt_eval_count: 26,
      eval_count: 298,
      total_duration: 5191566416,
      load_duration: 2154458,
      prompt_eval_duration: 383809000,
      eval_duration: 4799921000,
    }),
    {
      doneReason: "stop",
      promptTokens: 26,
      outputTokens: 298,
      totalDurationNs: 5191566416,
      loadDurationNs: 2154458,
      promptEvalDurationNs: 383809000,
      evalDurationNs: 4799921000,
    },
  );
  const bad: [unknown, string][] = [
    [1e308, "eval_count"],
    [2.5, "eval_count"],
    [-1, "eval_count"],
    [Number.MAX_SAFE_INTEGER + 2, "eval_count"],
    ["12", "eval_count"],
    [true, "eval_count"],
    [{}, "eval_count"],
  ];
  for (const [value, field] of bad) {
    assert.deepEqual(
      statsFromOllama({ prompt_eval_count: 3, eval_count: value }),
      { promptTokens: 3, invalid: field },
      String(value),
    );
  }
  assert.deepEqual(statsFromOllama({ eval_duration: 0.5, eval_count: 1 }), {
    outputTokens: 1,
    invalid: "eval_duration",
  });
  assert.deepEqual(statsFromOllama({ eval_count: null, prompt_eval_count: 0 }), {
    promptTokens: 0,
  });
});

Deno.test("statsFromUsage: the same rule for OpenAI's usage", () => {
  assert.deepEqual(statsFromUsage({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 }), {
    promptTokens: 5,
    outputTokens: 7,
  });
  assert.deepEqual(statsFromUsage({ prompt_tokens: 5, completion_tokens: 1e308 }), {
    promptTokens: 5,
    invalid: "completion_tokens",
  });
  assert.deepEqual(statsFromUsage(null), {});
});

Deno.test("statsFromTail: values are read whole, so 1e308 and 1.5 are not read as 1", () => {
  assert.deepEqual(
    statsFromTail('3]],"total_duration":1200,"load_duration":3,"prompt_eval_count":9}'),
    { totalDurationNs: 1200, loadDurationNs: 3, promptTokens: 9 },
  );
  assert.deepEqual(statsFromTail('"eval_count":1e308,"done":true}'), { invalid: "eval_count" });
  assert.deepEqual(statsFromTail('"eval_count":1E+308}'), { invalid: "eval_count" });
  assert.deepEqual(statsFromTail('"eval_count":1.5}'), { invalid: "eval_count" });
  assert.deepEqual(statsFromTail('"eval_count":-4}'), { invalid: "eval_count" });
  assert.deepEqual(statsFromTail('"eval_count":"4"}'), { invalid: "eval_count" });
  assert.deepEqual(statsFromTail('"usage":{"prompt_tokens":2,"completion_tokens":0.5}}'), {
    promptTokens: 2,
    invalid: "completion_tokens",
  });
  assert.deepEqual(statsFromTail('"eval_count":1e2}'), { outputTokens: 100 });
});

Deno.test("Counter: refuses increments that are not finite and non-negative, or overflow", () => {
  const counter = new Counter({ name: "t_total", help: "x" });
  counter.inc(1e308);
  assert.throws(() => counter.inc(1e308), {
    name: "RangeError",
    message: 'Cannot increment counter "t_total" by 1e+308: the total would no longer be ' +
      "finite (it is 1e+308)",
  });
  assert.equal(counter.labels().value, 1e308, "the counter keeps its value");
  for (const bad of [Infinity, -1, NaN]) {
    assert.throws(() => counter.inc(bad), { name: "RangeError" });
  }
  assert.equal(counter.labels().value, 1e308);
});

/** A fake Ollama whose final chunk carries `finalFields` (raw JSON text, e.g. `"eval_count":1e308`). */
function fakeOllama(finalFields: () => string): { url: string; server: Deno.HttpServer } {
  const json = (body: unknown) =>
    new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/api/version") return json({ version: "0.33.0" });
    if (path === "/api/tags") return json({ models: [{ name: "llama3.2:latest", size: 1 }] });
    if (path === "/api/ps") return json({ models: [] });
    const lines = [
      '{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Hi"},"done":false}',
      '{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",' +
      finalFields() + "}",
    ];
    return new Response(lines.join("\n") + "\n", {
      headers: { "content-type": "application/x-ndjson" },
    });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, server };
}

async function chat(h: ExporterHarness): Promise<void> {
  const response = await fetch(`${h.url}/api/chat`, {
    method: "POST",
    body: JSON.stringify({ model: "llama3.2", messages: [{ role: "user", content: "hi" }] }),
  });
  assert.equal(response.status, 200);
  await response.arrayBuffer();
}

Deno.test("eval_count 1e308 twice: no +Inf, the stats are dropped, counted as invalid_stats", async () => {
  let fields = '"prompt_eval_count":4,"eval_count":1e308,"eval_duration":1000000000';
  const fake = fakeOllama(() => fields);
  try {
    await withHarness({ upstream: fake.url }, async (h) => {
      await chat(h);
      await chat(h);
      fields = '"prompt_eval_count":4,"eval_count":2.5,"eval_duration":1000000000';
      await chat(h);
      fields = '"prompt_eval_count":4,"eval_count":-1';
      await chat(h);
      await h.settle();
      const model = { model: "llama3.2:latest" };
      let samples = await h.scrape();
      assert.equal(
        h.valueIn(samples, "ollama_request_errors_total", {
          ...model,
          endpoint: "/api/chat",
          reason: "invalid_stats",
        }),
        4,
      );
      assert.equal(
        h.valueIn(samples, "ollama_requests_total", {
          ...model,
          endpoint: "/api/chat",
          code: "200",
        }),
        4,
        "the client got its answer",
      );
      assert.equal(h.valueIn(samples, "ollama_tokens_generated_total", model), undefined);
      assert.equal(h.valueIn(samples, "ollama_tokens_processed_total", model), undefined);
      assert.equal(h.valueIn(samples, "ollama_eval_duration_seconds_count", model), undefined);
      assert.ok(h.logs.some((line) => / proxied .*error=invalid_stats$/.test(line)));

      fields = '"prompt_eval_count":4,"eval_count":7,"eval_duration":1000000000';
      await chat(h);
      await h.settle();
      samples = await h.scrape();
      assert.equal(h.valueIn(samples, "ollama_tokens_generated_total", model), 7);
      assert.equal(h.valueIn(samples, "ollama_tokens_processed_total", model), 4);
      assert.equal(h.valueIn(samples, "ollama_eval_duration_seconds_sum", model), 1);
      const text = await (await fetch(`${h.url}/metrics`)).text();
      assert.doesNotMatch(text, / \+Inf$/m, "no sample is +Inf");
    });
  } finally {
    await fake.server.shutdown();
  }
});
