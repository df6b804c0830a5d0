/**
 * The OpenAI-compatible endpoints, embeddings, the loaded-model inventory, per-client
 * attribution and access control, over real sockets with the real `openai` and `ollama` clients.
 */
import assert from "node:assert/strict";
import { Ollama } from "npm:ollama@0.6.3";
import OpenAI from "npm:openai@6.49.0";
import {
  expectedCompletion,
  expectedEmbedding,
  type RecordedRequest,
} from "./support/ollama_simulator.ts";
import { type ExporterHarness, withHarness } from "./support/exporter_harness.ts";

const MODEL = "llama3.2:latest";
const decoder = new TextDecoder();

async function post(base: string, path: string, body: unknown, headers: HeadersInit = {}) {
  const response = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const bytes = await response.bytes();
  return { response, status: response.status, text: decoder.decode(bytes) };
}

/** Response ids count requests in the simulator; everything else must match byte for byte. */
function sameIds(text: string): string {
  return text.replaceAll(/"id":"(chatcmpl|cmpl)-\d+"/g, '"id":"$1-N"');
}

const chatRequest = (extra: Record<string, unknown> = {}) => ({
  model: "llama3.2",
  messages: [{ role: "user", content: "Name three colours" }],
  ...extra,
});

Deno.test("SSE chat stream without include_usage: the client gets exactly the stream it asked for", async () => {
  for (const split of ["line", "byte", "random"] as const) {
    await withHarness({ simulator: { split } }, async (h) => {
      const request = chatRequest({ stream: true });
      const direct = await post(h.simulator.url, "/v1/chat/completions", request);
      const proxied = await post(h.url, "/v1/chat/completions", request);
      assert.equal(proxied.status, 200);
      assert.equal(proxied.response.headers.get("content-type"), "text/event-stream");
      assert.equal(sameIds(proxied.text), sameIds(direct.text), split);
      assert.ok(!proxied.text.includes('"usage"'), "no usage chunk the client did not ask for");
      assert.ok(proxied.text.endsWith("data: [DONE]\n\n"));
      // The exporter asked Ollama for usage itself.
      const upstream = JSON.parse(lastRequest(h, "/v1/chat/completions").body);
      assert.deepEqual(upstream.stream_options, { include_usage: true });
      await h.settle();
      const expected = expectedCompletion("llama3.2", request.messages);
      const labels = { model: MODEL, endpoint: "/v1/chat/completions" };
      const s = await h.scrape();
      assert.equal(h.valueIn(s, "ollama_requests_total", { ...labels, code: "200" }), 1);
      assert.equal(
        h.valueIn(s, "ollama_tokens_processed_total", { model: MODEL }),
        expected.usage.prompt_tokens,
      );
      assert.equal(
        h.valueIn(s, "ollama_tokens_generated_total", { model: MODEL }),
        expected.usage.completion_tokens,
      );
      assert.equal(h.valueIn(s, "ollama_time_to_first_token_seconds_count", labels), 1);
      assert.equal(h.valueIn(s, "ollama_time_per_output_token_seconds_count", labels), 1);
      assert.equal(
        h.valueIn(s, "ollama_request_errors_total", { ...labels, reason: "stream_error" }),
        undefined,
      );
    });
  }
});

Deno.test("SSE stream with include_usage from the client: forwarded and answered untouched", async () => {
  await withHarness({ simulator: { split: "byte" } }, async (h) => {
    const raw = JSON.stringify(
      chatRequest({ stream: true, stream_options: { include_usage: true } }),
    );
    const direct = await post(h.simulator.url, "/v1/chat/completions", raw);
    const proxied = await post(h.url, "/v1/chat/completions", raw);
    assert.equal(sameIds(proxied.text), sameIds(direct.text));
    assert.match(proxied.text, /"choices":\[\],"usage":\{"prompt_tokens":\d+/);
    assert.equal(lastRequest(h, "/v1/chat/completions").body, raw, "request bytes unchanged");
    await h.settle();
    const expected = expectedCompletion("llama3.2", chatRequest().messages);
    assert.equal(
      await h.value("ollama_tokens_generated_total", { model: MODEL }),
      expected.usage.completion_tokens,
    );
  });
});

Deno.test("/v1/completions stream: usage counted, zero-usage members removed from every chunk", async () => {
  await withHarness({ simulator: { split: "random", seed: 3 } }, async (h) => {
    const request = { model: "llama3.2", prompt: "Once upon a time", stream: true, max_tokens: 12 };
    const direct = await post(h.simulator.url, "/v1/completions", request);
    const proxied = await post(h.url, "/v1/completions", request);
    assert.equal(sameIds(proxied.text), sameIds(direct.text));
    assert.ok(!proxied.text.includes("usage"));
    await h.settle();
    const expected = expectedCompletion("llama3.2", "Once upon a time", { numPredict: 12 });
    const s = await h.scrape();
    assert.equal(h.valueIn(s, "ollama_tokens_generated_total", { model: MODEL }), 12);
    assert.equal(
      h.valueIn(s, "ollama_tokens_processed_total", { model: MODEL }),
      expected.usage.prompt_tokens,
    );
  });
});

Deno.test("non-streaming OpenAI answers pass byte for byte; usage is counted", async () => {
  await withHarness({}, async (h) => {
    const raw = JSON.stringify(chatRequest());
    const direct = await post(h.simulator.url, "/v1/chat/completions", raw);
    const proxied = await post(h.url, "/v1/chat/completions", raw);
    assert.equal(sameIds(proxied.text), sameIds(direct.text));
    assert.equal(lastRequest(h, "/v1/chat/completions").body, raw);
    await h.settle();
    const expected = expectedCompletion("llama3.2", chatRequest().messages);
    const labels = { model: MODEL, endpoint: "/v1/chat/completions" };
    assert.equal(
      await h.value("ollama_tokens_generated_total", { model: MODEL }),
      expected.usage.completion_tokens,
    );
    assert.equal(await h.value("ollama_time_to_first_token_seconds_count", labels), undefined);
  });
});

Deno.test("OpenAI errors pass with their status and shape; mid-stream error events count", async () => {
  await withHarness({}, async (h) => {
    const request = { model: "missing-model", messages: [{ role: "user", content: "x" }] };
    const direct = await post(h.simulator.url, "/v1/chat/completions", request);
    const proxied = await post(h.url, "/v1/chat/completions", request);
    assert.equal(proxied.status, 404);
    assert.equal(proxied.text, direct.text);
    assert.equal(JSON.parse(proxied.text).error.type, "not_found_error");
    // A runner dying mid-stream: Ollama's OpenAI writer turns the error line into one last
    // ordinary chunk (model "", empty content, finish_reason null) and sends no [DONE].
    h.simulator.configure({ failMidStream: { afterChunks: 2 } });
    const failing = await post(h.url, "/v1/chat/completions", chatRequest({ stream: true }));
    assert.equal(failing.status, 200);
    assert.ok(!failing.text.includes("[DONE]"), "no [DONE] after the failure");
    assert.ok(!failing.text.includes('"error"'), "no error object either");
    const frames = failing.text.trimEnd().split("\n\n").map((f) => JSON.parse(f.slice(6)));
    assert.equal(frames.length, 3);
    assert.equal(frames[2].model, "");
    assert.deepEqual(frames[2].choices, [{
      index: 0,
      delta: { content: "" },
      finish_reason: null,
    }]);
    await h.settle();
    const labels = { model: MODEL, endpoint: "/v1/chat/completions" };
    assert.equal(
      await h.value("ollama_request_errors_total", { ...labels, reason: "stream_error" }),
      1,
    );
    assert.equal(
      await h.value("ollama_request_errors_total", {
        model: "other",
        endpoint: "/v1/chat/completions",
        reason: "upstream_error",
      }),
      1,
    );
  });
});

Deno.test("the real openai SDK through the exporter gets what it gets from Ollama", async () => {
  await withHarness({ simulator: { split: "random", seed: 9 } }, async (h) => {
    const direct = new OpenAI({ baseURL: `${h.simulator.url}/v1`, apiKey: "ollama" });
    const proxied = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: "ollama" });
    const messages = [{ role: "user" as const, content: "Tell me a joke" }];
    const a = await direct.chat.completions.create({ model: "llama3.2", messages });
    const b = await proxied.chat.completions.create({ model: "llama3.2", messages });
    assert.equal(b.choices[0]!.message.content, a.choices[0]!.message.content);
    assert.deepEqual(b.usage, a.usage);
    const collect = async (client: OpenAI) => {
      const stream = await client.chat.completions.create({
        model: "llama3.2",
        messages,
        stream: true,
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push({ ...chunk, id: "x" });
      return chunks;
    };
    const streamedDirect = await collect(direct);
    const streamedProxied = await collect(proxied);
    assert.deepEqual(streamedProxied, streamedDirect);
    assert.ok(streamedProxied.every((chunk) => !("usage" in chunk) || chunk.usage == null));
    const embedded = await proxied.embeddings.create({
      model: "nomic-embed-text",
      input: ["a b c", "d"],
    });
    assert.equal(embedded.data.length, 2);
    await h.settle();
    const expected = expectedCompletion("llama3.2", messages);
    assert.equal(
      await h.value("ollama_tokens_generated_total", { model: MODEL }),
      2 * expected.usage.completion_tokens,
    );
    assert.equal(
      await h.value("ollama_requests_total", {
        model: "nomic-embed-text:latest",
        endpoint: "/v1/embeddings",
        code: "200",
      }),
      1,
    );
    assert.equal(
      await h.value("ollama_tokens_processed_total", { model: "nomic-embed-text:latest" }),
      expectedEmbedding("nomic-embed-text", ["a b c", "d"]).usage.prompt_tokens,
    );
  });
});

Deno.test("the real ollama client through the exporter gets what it gets from Ollama", async () => {
  await withHarness({ simulator: { split: "byte" } }, async (h) => {
    const direct = new Ollama({ host: h.simulator.url });
    const proxied = new Ollama({ host: h.url });
    const messages = [{ role: "user", content: "Why is the sky blue?" }];
    const a = await direct.chat({ model: "llama3.2", messages });
    const b = await proxied.chat({ model: "llama3.2", messages });
    assert.deepEqual(b, a);
    const parts = [];
    for await (
      const part of await proxied.generate({ model: "llama3.2", prompt: "hi", stream: true })
    ) {
      parts.push(part.response);
    }
    assert.equal(parts.join(""), expectedCompletion("llama3.2", "hi").text);
    const embedded = await proxied.embed({ model: "nomic-embed-text", input: "hello world" });
    assert.deepEqual(
      embedded,
      await direct.embed({ model: "nomic-embed-text", input: "hello world" }),
    );
    const list = await proxied.list();
    assert.deepEqual(list, await direct.list());
    await h.settle();
    const s = await h.scrape();
    const chat = expectedCompletion("llama3.2", messages);
    const gen = expectedCompletion("llama3.2", "hi");
    assert.equal(
      h.valueIn(s, "ollama_tokens_generated_total", { model: MODEL }),
      chat.metrics.eval_count + gen.metrics.eval_count,
    );
    const embed = expectedEmbedding("nomic-embed-text", "hello world").metrics;
    const e = { model: "nomic-embed-text:latest" };
    assert.equal(h.valueIn(s, "ollama_tokens_processed_total", e), embed.prompt_eval_count);
    assert.equal(h.valueIn(s, "ollama_total_duration_seconds_sum", e), embed.total_duration / 1e9);
    assert.equal(
      h.valueIn(s, "ollama_requests_total", { ...e, endpoint: "/api/embed", code: "200" }),
      1,
    );
  });
});

Deno.test("legacy /api/embeddings is counted; it reports no numbers", async () => {
  await withHarness({}, async (h) => {
    const direct = await post(h.simulator.url, "/api/embeddings", {
      model: "nomic-embed-text",
      prompt: "x y",
    });
    const proxied = await post(h.url, "/api/embeddings", {
      model: "nomic-embed-text",
      prompt: "x y",
    });
    assert.equal(proxied.text, direct.text);
    await h.settle();
    const e = { model: "nomic-embed-text:latest" };
    assert.equal(
      await h.value("ollama_requests_total", { ...e, endpoint: "/api/embeddings", code: "200" }),
      1,
    );
    assert.equal(await h.value("ollama_tokens_processed_total", e), undefined);
  });
});

Deno.test("loaded-model inventory from /api/ps; absent when Ollama stops answering", async () => {
  const loaded = [
    {
      name: "llama3.2:latest",
      size: 3_000_000_000,
      size_vram: 2_500_000_000,
      context_length: 8192,
      expires_at: "2030-01-01T00:00:00Z",
    },
    {
      name: "qwen2.5:0.5b",
      size: 500_000_000,
      size_vram: 0,
      context_length: 4096,
      expires_at: "2030-01-01T00:00:00Z",
    },
  ];
  await withHarness({ simulator: { loaded } }, async (h) => {
    const s = await h.scrape();
    assert.equal(h.valueIn(s, "ollama_loaded_models"), 2);
    assert.equal(
      h.valueIn(s, "ollama_model_memory_bytes", { model: MODEL, location: "vram" }),
      2_500_000_000,
    );
    assert.equal(
      h.valueIn(s, "ollama_model_memory_bytes", { model: MODEL, location: "ram" }),
      500_000_000,
    );
    assert.equal(
      h.valueIn(s, "ollama_model_memory_bytes", { model: "qwen2.5:0.5b", location: "ram" }),
      500_000_000,
    );
    assert.equal(h.valueIn(s, "ollama_model_context_length", { model: MODEL }), 8192);
    const expiry = h.valueIn(s, "ollama_model_expiry_seconds", { model: MODEL })!;
    const expected = (Date.parse("2030-01-01T00:00:00Z") - Date.now()) / 1000;
    assert.ok(Math.abs(expiry - expected) < 30, `expiry ${expiry} vs ${expected}`);
    await h.simulator.close();
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const after = await h.scrape();
    for (const key of after.keys()) {
      assert.ok(!/^ollama_(loaded_models|model_memory|model_expiry|model_context)/.test(key), key);
    }
    await h.exporter.monitor.check();
    assert.equal(await h.value("ollama_up"), 0);
  });
});

Deno.test("per-client attribution from a header, bounded", async () => {
  await withHarness({ env: { CLIENT_HEADER: "X-Client-Name", MAX_CLIENTS: "2" } }, async (h) => {
    for (const client of ["webui", "webui", "agent", "third", undefined]) {
      const headers: Record<string, string> = client ? { "x-client-name": client } : {};
      await post(
        h.url,
        "/api/generate",
        { model: "llama3.2", prompt: "hi", stream: false },
        headers,
      );
    }
    await h.settle();
    const s = await h.scrape();
    const tokens = expectedCompletion("llama3.2", "hi").metrics.eval_count;
    const r = (client: string) =>
      h.valueIn(s, "ollama_requests_total", {
        model: MODEL,
        endpoint: "/api/generate",
        code: "200",
        client,
      });
    assert.equal(r("webui"), 2);
    assert.equal(r("agent"), 1);
    assert.equal(r("other"), 1);
    assert.equal(r(""), 1);
    assert.equal(
      h.valueIn(s, "ollama_tokens_generated_total", { model: MODEL, client: "webui" }),
      2 * tokens,
    );
  });
});

Deno.test("API keys: 401 in each API's shape; the key's name is the client; keys never leak", async () => {
  const env = {
    API_KEYS: "alice:sk-alice-0123456789,bob:sk-bob-9876543210",
    METRICS_TOKEN: "scrape-secret-42",
  };
  await withHarness({ env }, async (h) => {
    const native = await post(h.url, "/api/chat", chatRequest({ stream: false }));
    assert.equal(native.status, 401);
    assert.equal(native.response.headers.get("www-authenticate"), 'Bearer realm="ollama-exporter"');
    assert.deepEqual(JSON.parse(native.text), {
      error: "unauthorized: send an API key as Authorization: Bearer <key>",
    });
    const wrong = await post(h.url, "/v1/chat/completions", chatRequest(), {
      authorization: "Bearer sk-alice-0123456788",
    });
    assert.equal(wrong.status, 401);
    assert.deepEqual(JSON.parse(wrong.text), {
      error: {
        message: "unauthorized: the API key is not valid",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      },
    });
    const messages = await post(h.url, "/v1/messages", chatRequest());
    assert.equal(messages.status, 401);
    assert.deepEqual(JSON.parse(messages.text), {
      type: "error",
      error: {
        type: "authentication_error",
        message: "unauthorized: send an API key as Authorization: Bearer <key>",
      },
    });
    const tags = await fetch(`${h.url}/api/tags`);
    assert.equal(tags.status, 401);
    await tags.body?.cancel();
    const ok = await post(h.url, "/api/chat", chatRequest({ stream: false }), {
      authorization: "Bearer sk-bob-9876543210",
    });
    assert.equal(ok.status, 200);
    assert.equal(
      lastRequest(h, "/api/chat").headers.get("authorization"),
      null,
      "key not forwarded",
    );
    const sdk = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: "sk-alice-0123456789" });
    await sdk.chat.completions.create({
      model: "llama3.2",
      messages: [{ role: "user", content: "x" }],
    });
    await assert.rejects(
      new OpenAI({ baseURL: `${h.url}/v1`, apiKey: "nope-nope-nope", maxRetries: 0 }).models.list(),
      (error: Error) => error instanceof OpenAI.AuthenticationError,
    );
    await h.settle();
    const noToken = await fetch(`${h.url}/metrics`);
    assert.equal(noToken.status, 401);
    await noToken.body?.cancel();
    const scrape = await fetch(`${h.url}/metrics`, {
      headers: { authorization: "Bearer scrape-secret-42" },
    });
    assert.equal(scrape.status, 200);
    const text = await scrape.text();
    assert.match(
      text,
      /ollama_requests_total\{model="llama3.2:latest",endpoint="\/api\/chat",code="200",client="bob"\} 1/,
    );
    assert.match(
      text,
      /ollama_requests_total\{model="llama3.2:latest",endpoint="\/v1\/chat\/completions",code="200",client="alice"\} 1/,
    );
    assert.match(text, /ollama_unauthorized_requests_total\{endpoint="\/api\/chat"\} 1/);
    for (const secret of ["sk-alice", "sk-bob", "scrape-secret", "nope-nope"]) {
      assert.ok(!text.includes(secret), `${secret} in metrics`);
      assert.ok(!h.logs.some((line) => line.includes(secret)), `${secret} in logs`);
    }
  });
});

/**
 * The last request the simulator received on `path` (the exporter also calls `/api/ps` after a
 * generation, for context lengths, so the very last request may be another).
 */
function lastRequest(h: ExporterHarness, path: string): RecordedRequest {
  const found = h.simulator.requests.findLast((request) => request.path === path);
  if (found === undefined) throw new Error(`Cannot find a request to ${path} in the simulator`);
  return found;
}
