import assert from "node:assert/strict";
import { expectedCompletion } from "./support/ollama_simulator.ts";
import { ExporterHarness } from "./support/exporter_harness.ts";

const MODEL = "llama3.2:latest";

async function post(base: string, path: string, body: unknown, headers: HeadersInit = {}) {
  const response = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const bytes = await response.bytes();
  return { response, bytes, text: new TextDecoder().decode(bytes) };
}

function headersOf(response: Response): [string, string][] {
  return [...response.headers].filter(([name]) => name !== "date");
}

Deno.test("non-streaming /api/generate: byte-identical answer and exact metrics", async () => {
  const h = await ExporterHarness.start({ simulator: { now: () => 1764000000000 } });
  try {
    const request = { model: "llama3.2", prompt: "Why is the sky blue?", stream: false };
    const direct = await post(h.simulator.url, "/api/generate", request);
    const proxied = await post(h.url, "/api/generate", request);
    assert.equal(proxied.response.status, 200);
    assert.equal(proxied.text, direct.text);
    assert.deepEqual(headersOf(proxied.response), headersOf(direct.response));
    await h.settle();
    const expected = expectedCompletion("llama3.2", "Why is the sky blue?");
    const m = expected.metrics;
    const labels = { model: MODEL, endpoint: "/api/generate" };
    assert.equal(await h.value("ollama_requests_total", { ...labels, code: "200" }), 1);
    const s = await h.scrape();
    const get = (name: string, l: Record<string, string>) => {
      const key = `${name}{${Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(",")}}`;
      return s.get(key);
    };
    assert.equal(get("ollama_tokens_processed_total", { model: MODEL }), m.prompt_eval_count);
    assert.equal(get("ollama_tokens_generated_total", { model: MODEL }), m.eval_count);
    assert.equal(get("ollama_eval_duration_seconds_sum", { model: MODEL }), m.eval_duration / 1e9);
    assert.equal(get("ollama_total_duration_seconds_count", { model: MODEL }), 1);
    assert.equal(get("ollama_response_seconds_count", labels), 1);
    assert.equal(get("ollama_time_to_first_token_seconds_count", labels), undefined);
  } finally {
    await h.close();
  }
});

Deno.test("streaming /api/chat (stream absent): same bytes, TTFT and tokens", async () => {
  const h = await ExporterHarness.start({ simulator: { split: "byte", now: () => 1764000000000 } });
  try {
    const messages = [{ role: "user", content: "Say hello in French" }];
    const request = { model: "llama3.2", messages };
    const direct = await post(h.simulator.url, "/api/chat", request);
    const proxied = await post(h.url, "/api/chat", request);
    assert.equal(proxied.text, direct.text);
    assert.deepEqual(headersOf(proxied.response), headersOf(direct.response));
    await h.settle();
    const expected = expectedCompletion("llama3.2", messages);
    const labels = { model: MODEL, endpoint: "/api/chat" };
    assert.equal(await h.value("ollama_requests_total", { ...labels, code: "200" }), 1);
    assert.equal(await h.value("ollama_time_to_first_token_seconds_count", labels), 1);
    assert.equal(
      await h.value("ollama_tokens_generated_total", { model: MODEL }),
      expected.metrics.eval_count,
    );
  } finally {
    await h.close();
  }
});
