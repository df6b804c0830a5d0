/**
 * The native-API proxy over real sockets: the exporter's handler served by `Deno.serve` on
 * 127.0.0.1 in front of the Ollama simulator. Sanitizers are on (Deno's default): a leaked body
 * or timer fails the test.
 */
import assert from "node:assert/strict";
import { expectedCompletion, type SimulatorOptions } from "./support/ollama_simulator.ts";
import { type ExporterHarness, withHarness } from "./support/exporter_harness.ts";
import { rawRequest } from "./support/raw_http.ts";

const MODEL = "llama3.2:latest";
const decoder = new TextDecoder();

async function send(
  base: string,
  path: string,
  init: { method?: string; body?: unknown; headers?: HeadersInit } = {},
) {
  const response = await fetch(base + path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: { "content-type": "application/json", ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const bytes = await response.bytes();
  return { response, status: response.status, bytes, text: decoder.decode(bytes) };
}

function headersOf(response: Response): [string, string][] {
  return [...response.headers].filter(([name]) => name !== "date");
}

/** Sends the same request to the simulator and through the exporter; asserts identical answers. */
async function sameAsDirect(
  h: ExporterHarness,
  path: string,
  init: { method?: string; body?: unknown; headers?: HeadersInit } = {},
) {
  const direct = await send(h.simulator.url, path, init);
  const proxied = await send(h.url, path, init);
  assert.equal(proxied.status, direct.status, `${path} status`);
  assert.deepEqual(headersOf(proxied.response), headersOf(direct.response), `${path} headers`);
  assert.deepEqual(proxied.bytes, direct.bytes, `${path} body`);
  return proxied;
}

Deno.test("non-streaming /api/generate: identical answer, exact metrics", async () => {
  await withHarness({}, async (h) => {
    const request = { model: "llama3.2", prompt: "Why is the sky blue?", stream: false };
    await sameAsDirect(h, "/api/generate", { body: request });
    await h.settle();
    const m = expectedCompletion("llama3.2", "Why is the sky blue?").metrics;
    const labels = { model: MODEL, endpoint: "/api/generate" };
    const s = await h.scrape();
    const v = (name: string, l: Record<string, string>) => h.valueIn(s, name, l);
    assert.equal(v("ollama_requests_total", { ...labels, code: "200" }), 1);
    assert.equal(v("ollama_tokens_processed_total", { model: MODEL }), m.prompt_eval_count);
    assert.equal(v("ollama_tokens_generated_total", { model: MODEL }), m.eval_count);
    assert.equal(v("ollama_total_duration_seconds_sum", { model: MODEL }), m.total_duration / 1e9);
    assert.equal(v("ollama_load_duration_seconds_sum", { model: MODEL }), m.load_duration / 1e9);
    assert.equal(
      v("ollama_prompt_eval_duration_seconds_sum", { model: MODEL }),
      m.prompt_eval_duration / 1e9,
    );
    assert.equal(v("ollama_eval_duration_seconds_sum", { model: MODEL }), m.eval_duration / 1e9);
    assert.equal(
      v("ollama_tokens_per_second_sum", { model: MODEL }),
      m.eval_count * 1e9 / m.eval_duration,
    );
    assert.equal(
      v("ollama_prompt_tokens_per_second_sum", { model: MODEL }),
      m.prompt_eval_count * 1e9 / m.prompt_eval_duration,
    );
    assert.equal(v("ollama_response_seconds_count", labels), 1);
    assert.equal(v("ollama_time_to_first_token_seconds_count", labels), undefined);
    assert.equal(v("ollama_requests_in_flight", labels), 0);
    assert.equal(
      v("ollama_request_errors_total", { ...labels, reason: "upstream_error" }),
      undefined,
    );
    // The upstream saw the client's exact request body.
    const seen = h.simulator.requests.filter((r) => r.path === "/api/generate");
    assert.equal(seen.length, 2);
    assert.equal(seen[1]!.body, JSON.stringify(request));
    assert.ok(
      h.logs.some((line) =>
        /proxied method=POST path=\/api\/generate model=llama3.2:latest status=200/.test(line)
      ),
    );
    assert.ok(!h.logs.some((line) => line.includes("sky")), "no prompt text in the logs");
  });
});

Deno.test("streams: identical bytes however Ollama's writes are cut, exact numbers", async () => {
  const splits: SimulatorOptions[] = [
    { split: "line" },
    { split: "byte" },
    ...[1, 2, 3, 4, 5, 6].map((seed) => ({ split: "random" as const, seed })),
  ];
  for (const simulator of splits) {
    await withHarness({ simulator }, async (h) => {
      const messages = [{ role: "user", content: "Say hello in French" }];
      // `stream` absent means streaming.
      const proxied = await sameAsDirect(h, "/api/chat", { body: { model: "llama3.2", messages } });
      assert.equal(proxied.response.headers.get("content-type"), "application/x-ndjson");
      await h.settle();
      const m = expectedCompletion("llama3.2", messages).metrics;
      const labels = { model: MODEL, endpoint: "/api/chat" };
      const s = await h.scrape();
      const v = (name: string, l: Record<string, string>) => h.valueIn(s, name, l);
      const why = JSON.stringify(simulator);
      assert.equal(v("ollama_requests_total", { ...labels, code: "200" }), 1, why);
      assert.equal(v("ollama_time_to_first_token_seconds_count", labels), 1, why);
      assert.equal(v("ollama_time_per_output_token_seconds_count", labels), 1, why);
      assert.equal(v("ollama_tokens_processed_total", { model: MODEL }), m.prompt_eval_count, why);
      assert.equal(v("ollama_tokens_generated_total", { model: MODEL }), m.eval_count, why);
      assert.equal(
        v("ollama_eval_duration_seconds_sum", { model: MODEL }),
        m.eval_duration / 1e9,
        why,
      );
      assert.equal(
        v("ollama_request_errors_total", { ...labels, reason: "stream_error" }),
        undefined,
      );
    });
  }
});

Deno.test("a slow stream reaches the client chunk by chunk, as produced", async () => {
  await withHarness({ simulator: { tokenDelayMs: 60 } }, async (h) => {
    // Ollama sends fewer chunks than tokens (the end token, partial characters): count the chunks.
    const chunks = h.simulator.expectedCompletion("llama3.2", "count", { numPredict: 5 }).chunks;
    const response = await fetch(`${h.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2", prompt: "count", options: { num_predict: 5 } }),
    });
    const arrivals: number[] = [];
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const lines = (text + value).split("\n");
      text = lines.pop()!;
      for (const _ of lines) arrivals.push(performance.now());
    }
    assert.equal(arrivals.length, chunks.length + 1, "every token chunk, then the final chunk");
    assert.equal(chunks.length, 5);
    // Each token chunk arrives about 60 ms after the previous one, not all at the end.
    for (let i = 1; i < chunks.length; i++) {
      const gap = arrivals[i]! - arrivals[i - 1]!;
      assert.ok(gap > 30, `chunk ${i} came ${gap.toFixed(1)} ms after the previous one`);
    }
    await h.settle();
    const labels = { model: MODEL, endpoint: "/api/generate" };
    const ttft = await h.value("ollama_time_to_first_token_seconds_sum", labels);
    const total = await h.value("ollama_response_seconds_sum", labels);
    assert.ok(ttft! < 0.05, `first token after ${ttft} s`);
    assert.ok(total! >= 0.24, `whole stream took ${total} s`);
    const tpot = await h.value("ollama_time_per_output_token_seconds_sum", labels);
    assert.ok(tpot! > 0.04 && tpot! < 0.2, `time per output token ${tpot}`);
  });
});

Deno.test("an error line mid-stream keeps status 200 and counts a stream error", async () => {
  await withHarness({ simulator: { failMidStream: { afterChunks: 2 } } }, async (h) => {
    const proxied = await sameAsDirect(h, "/api/generate", {
      body: { model: "llama3.2", prompt: "hi" },
    });
    assert.equal(proxied.status, 200);
    assert.match(proxied.text.trimEnd().split("\n").at(-1)!, /^\{"error":/);
    await h.settle();
    const labels = { model: MODEL, endpoint: "/api/generate" };
    assert.equal(await h.value("ollama_requests_total", { ...labels, code: "200" }), 1);
    assert.equal(
      await h.value("ollama_request_errors_total", { ...labels, reason: "stream_error" }),
      1,
    );
    assert.equal(await h.value("ollama_tokens_generated_total", { model: MODEL }), undefined);
  });
});

Deno.test("unknown model: Ollama's 404 passes unchanged; the name does not become a label", async () => {
  await withHarness({}, async (h) => {
    const proxied = await sameAsDirect(h, "/api/chat", {
      body: { model: "no-such-model", messages: [{ role: "user", content: "x" }] },
    });
    assert.equal(proxied.status, 404);
    assert.equal(proxied.text, `{"error":"model 'no-such-model' not found"}`);
    for (let i = 0; i < 20; i++) {
      await send(h.url, "/api/generate", { body: { model: `random-${i}`, prompt: "x" } });
    }
    await h.settle();
    const s = await h.scrape();
    assert.equal(
      h.valueIn(s, "ollama_requests_total", { model: "other", endpoint: "/api/chat", code: "404" }),
      1,
    );
    assert.equal(
      h.valueIn(s, "ollama_requests_total", {
        model: "other",
        endpoint: "/api/generate",
        code: "404",
      }),
      20,
    );
    assert.equal(
      h.valueIn(s, "ollama_request_errors_total", {
        model: "other",
        endpoint: "/api/generate",
        reason: "upstream_error",
      }),
      20,
    );
    assert.ok(![...s.keys()].some((k) => k.includes("random-")), "no series per random name");
  });
});

Deno.test("bad JSON: Ollama's 400 passes unchanged, model label empty", async () => {
  await withHarness({}, async (h) => {
    const direct = await fetch(`${h.simulator.url}/api/generate`, {
      method: "POST",
      body: "{not json",
    });
    const proxied = await fetch(`${h.url}/api/generate`, { method: "POST", body: "{not json" });
    assert.equal(proxied.status, 400);
    assert.equal(await proxied.text(), await direct.text());
    await h.settle();
    assert.equal(
      await h.value("ollama_requests_total", { model: "", endpoint: "/api/generate", code: "400" }),
      1,
    );
  });
});

Deno.test("an empty prompt loads the model: a load is recorded, no tokens", async () => {
  await withHarness({}, async (h) => {
    await sameAsDirect(h, "/api/generate", { body: { model: "llama3.2" } });
    await sameAsDirect(h, "/api/generate", { body: { model: "llama3.2", keep_alive: 0 } });
    await h.settle();
    const s = await h.scrape();
    assert.equal(
      h.valueIn(s, "ollama_model_load_requests_total", { model: MODEL, action: "load" }),
      1,
    );
    assert.equal(
      h.valueIn(s, "ollama_model_load_requests_total", { model: MODEL, action: "unload" }),
      1,
    );
    assert.equal(
      h.valueIn(s, "ollama_requests_total", {
        model: MODEL,
        endpoint: "/api/generate",
        code: "200",
      }),
      2,
    );
    assert.equal(h.valueIn(s, "ollama_tokens_generated_total", { model: MODEL }), undefined);
    assert.equal(h.valueIn(s, "ollama_tokens_per_second_count", { model: MODEL }), undefined);
    assert.equal(
      h.valueIn(s, "ollama_time_to_first_token_seconds_count", {
        model: MODEL,
        endpoint: "/api/generate",
      }),
      undefined,
    );
  });
});

Deno.test("pass-through endpoints: identical status, headers and bytes for every method", async () => {
  await withHarness({}, async (h) => {
    await sameAsDirect(h, "/");
    await sameAsDirect(h, "/", { method: "HEAD" });
    await sameAsDirect(h, "/api/version");
    await sameAsDirect(h, "/api/tags");
    await sameAsDirect(h, "/api/ps");
    await sameAsDirect(h, "/api/show", { body: { model: "llama3.2" } });
    await sameAsDirect(h, "/api/nope");
    await sameAsDirect(h, "/api/tags", { method: "DELETE" });
    await sameAsDirect(h, "/v1/models");
    const deleted = await send(h.url, "/api/delete", {
      method: "DELETE",
      body: { model: "qwen2.5:0.5b" },
    });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.text, "");
    await h.settle();
    const s = await h.scrape();
    assert.equal(
      h.valueIn(s, "ollama_requests_total", { model: "", endpoint: "/", code: "200" }),
      2,
    );
    assert.equal(
      h.valueIn(s, "ollama_requests_total", { model: "", endpoint: "/api/tags", code: "200" }),
      1,
    );
    assert.equal(
      h.valueIn(s, "ollama_requests_total", { model: "", endpoint: "/api/tags", code: "405" }),
      1,
    );
    assert.equal(
      h.valueIn(s, "ollama_requests_total", { model: "", endpoint: "other", code: "404" }),
      1,
    );
    assert.equal(
      h.valueIn(s, "ollama_requests_total", { model: MODEL, endpoint: "/api/show", code: "200" }),
      1,
    );
    assert.equal(
      h.valueIn(s, "ollama_requests_total", {
        model: "qwen2.5:0.5b",
        endpoint: "/api/delete",
        code: "200",
      }),
      1,
    );
  });
});

Deno.test("pull progress reaches the client line by line as Ollama sends it", async () => {
  await withHarness({ simulator: { pullIntervalMs: 40 } }, async (h) => {
    const response = await fetch(`${h.url}/api/pull`, {
      method: "POST",
      body: JSON.stringify({ model: "phi3" }),
    });
    assert.equal(response.status, 200);
    const arrivals: [number, string][] = [];
    let rest = "";
    for await (const piece of response.body!.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + piece).split("\n");
      rest = lines.pop()!;
      for (const line of lines) arrivals.push([performance.now(), line]);
    }
    assert.ok(arrivals.length >= 5, `${arrivals.length} progress lines`);
    assert.equal(JSON.parse(arrivals.at(-1)![1]).status, "success");
    const spread = arrivals.at(-1)![0] - arrivals[0]![0];
    assert.ok(spread > 40 * (arrivals.length - 3), `lines spread over ${spread.toFixed(0)} ms`);
    await h.settle();
    // A pull's 200 does not prove the model exists (failures come inside the stream), so the
    // name becomes a label only once Ollama lists it.
    assert.equal(
      await h.value("ollama_requests_total", {
        model: "other",
        endpoint: "/api/pull",
        code: "200",
      }),
      1,
    );
    await h.exporter.monitor.check();
    await (await fetch(`${h.url}/api/show`, {
      method: "POST",
      body: JSON.stringify({ model: "phi3" }),
    })).body?.cancel();
    await h.settle();
    assert.equal(
      await h.value("ollama_requests_total", {
        model: "phi3:latest",
        endpoint: "/api/show",
        code: "200",
      }),
      1,
    );
  });
});

Deno.test("random names pulled do not take model label slots", async () => {
  await withHarness({ env: { MAX_MODELS: "4" } }, async (h) => {
    // Ollama's registry does not know them: streamed, 200 and an error line; else a 500.
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${h.url}/api/pull`, {
        method: "POST",
        body: JSON.stringify({ model: `made-up-${i}`, stream: i % 2 === 0 }),
      });
      assert.equal(response.status, i % 2 === 0 ? 200 : 500);
      assert.match(await response.text(), /"error":"pull model manifest: file does not exist"/);
    }
    await h.settle();
    const s = await h.scrape();
    assert.ok(![...s.keys()].some((k) => k.includes("made-up")), "no series per pulled name");
    const pulls = (code: string) =>
      h.valueIn(s, "ollama_requests_total", { model: "other", endpoint: "/api/pull", code });
    assert.equal(pulls("200"), 5);
    assert.equal(pulls("500"), 5);
  });
});

Deno.test("a client that leaves a pass-through stream is counted as a disconnect", async () => {
  await withHarness({ simulator: { pullIntervalMs: 30 } }, async (h) => {
    const response = await fetch(`${h.url}/api/pull`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2" }),
    });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    const upstream = h.simulator.requests.find((r) => r.path === "/api/pull")!;
    await upstream.finished;
    assert.equal(upstream.aborted, true, "the pull was cancelled upstream");
    await h.settle();
    assert.equal(
      await h.value("ollama_request_errors_total", {
        model: MODEL,
        endpoint: "/api/pull",
        reason: "client_disconnect",
      }),
      1,
    );
  });
});

Deno.test("a client that disconnects mid-stream cancels the upstream request", async () => {
  await withHarness({ simulator: { tokenDelayMs: 20 } }, async (h) => {
    const controller = new AbortController();
    const response = await fetch(`${h.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({
        model: "llama3.2",
        messages: [{ role: "user", content: "write a long story" }],
        options: { num_predict: 2000 },
      }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    await reader.cancel().catch(() => {});
    const upstream = h.simulator.requests.find((r) => r.path === "/api/chat")!;
    await upstream.finished;
    assert.equal(upstream.aborted, true, "the simulator saw the request cancelled");
    assert.ok(upstream.bytesSent < 2000 * 60, `upstream stopped after ${upstream.bytesSent} bytes`);
    await h.settle();
    const labels = { model: MODEL, endpoint: "/api/chat" };
    assert.equal(
      await h.value("ollama_request_errors_total", { ...labels, reason: "client_disconnect" }),
      1,
    );
    assert.equal(await h.value("ollama_requests_total", { ...labels, code: "200" }), 1);
    assert.equal(await h.value("ollama_requests_in_flight", labels), 0);
  });
});

Deno.test("a client that leaves before Ollama answers cancels the upstream request too", async () => {
  await withHarness({ simulator: { firstTokenDelayMs: 2000 } }, async (h) => {
    const controller = new AbortController();
    const pending = fetch(`${h.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2", prompt: "slow" }),
      signal: controller.signal,
    }).catch((error) => error);
    const deadline = performance.now() + 5000;
    while (!h.simulator.requests.some((r) => r.path === "/api/generate")) {
      assert.ok(performance.now() < deadline, "the request reached the simulator within 5 s");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    controller.abort();
    assert.ok((await pending) instanceof Error);
    const upstream = h.simulator.requests.find((r) => r.path === "/api/generate")!;
    await upstream.finished;
    assert.equal(upstream.aborted, true);
    await h.settle();
    const labels = { model: MODEL, endpoint: "/api/generate" };
    assert.equal(await h.value("ollama_requests_total", { ...labels, code: "499" }), 1);
    assert.equal(
      await h.value("ollama_request_errors_total", { ...labels, reason: "client_disconnect" }),
      1,
    );
  });
});

Deno.test("Ollama unreachable: 502 naming the upstream, counted, ollama_up 0", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = listener.addr.port;
  listener.close();
  await withHarness({ upstream: `127.0.0.1:${closedPort}` }, async (h) => {
    const native = await send(h.url, "/api/generate", { body: { model: "llama3.2", prompt: "x" } });
    assert.equal(native.status, 502);
    assert.equal(native.response.headers.get("content-type"), "application/json; charset=utf-8");
    const error = JSON.parse(native.text).error;
    assert.match(
      error,
      new RegExp(`^Cannot reach Ollama at http://127\\.0\\.0\\.1:${closedPort}: `),
    );
    const openai = await send(h.url, "/v1/chat/completions", {
      body: { model: "llama3.2", messages: [] },
    });
    assert.equal(openai.status, 502);
    assert.equal(JSON.parse(openai.text).error.type, "api_error");
    const tags = await send(h.url, "/api/tags");
    assert.equal(tags.status, 502);
    await h.settle();
    const s = await h.scrape();
    assert.equal(h.valueIn(s, "ollama_up", {}), 0);
    assert.equal(
      h.valueIn(s, "ollama_requests_total", {
        model: "other",
        endpoint: "/api/generate",
        code: "502",
      }),
      1,
    );
    assert.equal(
      h.valueIn(s, "ollama_request_errors_total", {
        model: "other",
        endpoint: "/api/generate",
        reason: "upstream_unreachable",
      }),
      1,
    );
    assert.equal(
      h.valueIn(s, "ollama_requests_total", { model: "", endpoint: "/api/tags", code: "502" }),
      1,
    );
    assert.ok(![...s.keys()].some((k) => k.startsWith("ollama_info")), "no stale version");
    const ready = await fetch(`${h.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /does not answer/);
  });
});

Deno.test("the exporter sends Ollama its own Host, so a foreign Host is not rejected", async () => {
  await withHarness({}, async (h) => {
    const foreign = { headers: { Host: "exporter.example.com" } };
    const direct = await rawRequest(h.simulator.port, "/api/version", foreign);
    assert.equal(direct.status, 403, "the simulator rejects a foreign Host like Ollama");
    const proxied = await rawRequest(Number(new URL(h.url).port), "/api/version", foreign);
    assert.equal(proxied.status, 200);
    const seen = h.simulator.requests.at(-1)!;
    assert.equal(seen.headers.get("host"), new URL(h.simulator.url).host);
  });
});

Deno.test("health, readiness and version", async () => {
  await withHarness({ simulator: { version: "0.33.1" } }, async (h) => {
    const health = await fetch(`${h.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok\n");
    const ready = await fetch(`${h.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready" });
    assert.equal(await h.value("ollama_up"), 1);
    assert.equal(await h.value("ollama_info", { version: "0.33.1" }), 1);
    h.exporter.drain();
    const draining = await fetch(`${h.url}/readyz`);
    assert.equal(draining.status, 503);
    assert.match(await draining.text(), /shutting down/);
  });
});
