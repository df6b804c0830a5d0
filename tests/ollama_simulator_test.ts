/**
 * Proof that the Ollama simulator speaks Ollama's wire formats: driven with the real `ollama`
 * client, the real `openai` SDK, raw fetch and raw TCP.
 */

import assert from "node:assert/strict";
import { Ollama } from "ollama";
import OpenAI from "openai";
import {
  countPromptTokens,
  DEFAULT_FAILURE_MESSAGE,
  expectedCompletion,
  expectedEmbedding,
  OllamaSimulator,
  RESPONSE_TOKENS,
  type SimulatorOptions,
} from "./support/ollama_simulator.ts";
import { rawRequest } from "./support/raw_http.ts";

/** A fixed clock, so that two responses are byte-identical. */
const FIXED_NOW = () => Date.UTC(2025, 0, 2, 3, 4, 5, 678);

async function withSimulator(
  options: SimulatorOptions,
  body: (sim: OllamaSimulator) => Promise<void>,
): Promise<void> {
  const sim = await OllamaSimulator.start(options);
  try {
    await body(sim);
  } finally {
    await sim.close();
  }
}

function post(sim: OllamaSimulator, path: string, body: unknown): Promise<Response> {
  return fetch(`${sim.url}${path}`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function ndjson(text: string): Record<string, unknown>[] {
  assert.ok(text.endsWith("\n"), "an NDJSON body ends with a newline");
  return text.slice(0, -1).split("\n").map((line) => JSON.parse(line));
}

function sseData(text: string): string[] {
  assert.ok(!/^event:/m.test(text), "Ollama writes no event: lines");
  const frames = text.split("\n\n");
  assert.equal(frames.pop(), "", "every SSE frame ends with a blank line");
  return frames.map((frame) => {
    assert.ok(frame.startsWith("data: "), `frame ${frame} starts with data:`);
    return frame.slice("data: ".length);
  });
}

async function readAll(response: Response): Promise<{ bytes: Uint8Array; reads: Uint8Array[] }> {
  const reads: Uint8Array[] = [];
  for await (const chunk of response.body ?? new ReadableStream()) reads.push(chunk);
  const bytes = new Uint8Array(reads.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of reads) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, reads };
}

function openai(sim: OllamaSimulator): OpenAI {
  return new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: "ollama", maxRetries: 0 });
}

function headerNames(response: Response): string[] {
  return [...response.headers.keys()].sort();
}

// --- root, version, routing ------------------------------------------------------------------

Deno.test("GET and HEAD / answer `Ollama is running` as text/plain", async () => {
  await withSimulator({}, async (sim) => {
    const get = await fetch(`${sim.url}/`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(await get.text(), "Ollama is running");
    const head = await rawRequest(sim.port, "/", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.deepEqual(head.headers.find(([name]) => name === "content-length"), [
      "content-length",
      "17",
    ]);
    assert.equal(head.body.length, 0);
  });
});

Deno.test("version, tags, ps and show through the ollama client", async () => {
  await withSimulator({}, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    assert.deepEqual(await ollama.version(), { version: "0.33.0" });
    const tags = await ollama.list();
    assert.deepEqual(tags.models.map((m) => m.name), [
      "llama3.2:latest",
      "qwen2.5:0.5b",
      "nomic-embed-text:latest",
    ]);
    const llama = tags.models[0];
    assert.ok(llama !== undefined);
    assert.equal(llama.size, 2019393189);
    assert.match(llama.digest, /^[0-9a-f]{64}$/);
    assert.equal(llama.details.family, "llama");
    assert.deepEqual((await ollama.ps()).models, []);
    const show = await ollama.show({ model: "llama3.2" });
    assert.deepEqual(show.capabilities, ["completion", "tools"]);
    assert.equal(show.details.parameter_size, "3.2B");
    await assert.rejects(
      ollama.show({ model: "nope" }),
      (error: Error & { status_code?: number }) => {
        assert.equal(error.status_code, 404);
        assert.equal(error.message, "model 'nope' not found");
        return true;
      },
    );
  });
});

Deno.test("configured version and models", async () => {
  await withSimulator({ version: "0.99.1", models: ["a:1b", "user/b"] }, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    assert.deepEqual(await ollama.version(), { version: "0.99.1" });
    assert.deepEqual((await ollama.list()).models.map((m) => m.name), ["a:1b", "user/b:latest"]);
    sim.configure({ models: ["c"] });
    assert.deepEqual((await ollama.list()).models.map((m) => m.name), ["c:latest"]);
  });
});

Deno.test("unknown path is 404 text/plain, wrong method 405 with Allow", async () => {
  await withSimulator({}, async (sim) => {
    const missing = await fetch(`${sim.url}/api/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-type"), "text/plain");
    assert.equal(await missing.text(), "404 page not found");
    const wrong = await fetch(`${sim.url}/api/tags`, { method: "POST", body: "{}" });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "HEAD, GET");
    assert.equal(await wrong.text(), "405 method not allowed");
    const get = await fetch(`${sim.url}/api/generate`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    await get.body?.cancel();
  });
});

// --- Host and Origin ------------------------------------------------------------------------

Deno.test("foreign Host gets 403 with an empty body, like Ollama", async () => {
  await withSimulator({}, async (sim) => {
    const foreign = await rawRequest(sim.port, "/api/tags", {
      headers: { Host: "evil.example.com" },
    });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body.length, 0);
    const names = foreign.headers.map(([name]) => name).filter((name) => name !== "connection");
    assert.deepEqual(names.sort(), ["content-length", "date"], "no Content-Type on a 403");
    for (
      const host of [
        "localhost:11434",
        "127.0.0.1",
        "127.9.9.9:80",
        "[::1]:11434",
        "[::1]",
        "10.1.2.3",
        "192.168.0.5:11434",
        "ollama.local",
        "box.internal:1",
      ]
    ) {
      const response = await rawRequest(sim.port, "/api/version", { headers: { Host: host } });
      assert.equal(response.status, 200, `Host ${host} is allowed`);
    }
    assert.equal((await rawRequest(sim.port, "/", { headers: { Host: "8.8.8.8" } })).status, 403);
    sim.configure({ rejectForeignHost: false });
    const allowed = await rawRequest(sim.port, "/", { headers: { Host: "evil.example.com" } });
    assert.equal(allowed.status, 200);
  });
});

Deno.test("CORS: foreign Origin 403, local Origin allowed with headers, preflight 204", async () => {
  await withSimulator({}, async (sim) => {
    const evil = await fetch(`${sim.url}/api/tags`, {
      headers: { Origin: "https://evil.example" },
    });
    assert.equal(evil.status, 403);
    assert.equal(await evil.text(), "");
    const local = await fetch(`${sim.url}/api/tags`, {
      headers: { Origin: "http://localhost:5173" },
    });
    assert.equal(local.status, 200);
    assert.equal(local.headers.get("access-control-allow-origin"), "http://localhost:5173");
    await local.body?.cancel();
    const preflight = await fetch(`${sim.url}/api/chat`, {
      method: "OPTIONS",
      headers: { Origin: "http://127.0.0.1:3000", "Access-Control-Request-Method": "POST" },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
    await preflight.body?.cancel();
  });
});

// --- /api/generate and /api/chat ------------------------------------------------------------

Deno.test("streaming generate through the ollama client matches expectedCompletion", async () => {
  await withSimulator({}, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    const prompt = "Why is the sky blue?";
    const expected = expectedCompletion("llama3.2", prompt);
    const parts = [];
    for await (
      const part of await ollama.generate({ model: "llama3.2", prompt, stream: true })
    ) {
      parts.push(part);
    }
    const final = parts.pop();
    assert.ok(final !== undefined);
    assert.deepEqual(parts.map((p) => p.response), expected.chunks);
    assert.ok(parts.every((p) => p.done === false && p.model === "llama3.2"));
    assert.equal(final.done, true);
    assert.equal(final.done_reason, "stop");
    assert.equal(final.response, "");
    assert.equal(final.prompt_eval_count, countPromptTokens(prompt));
    assert.equal(final.prompt_eval_count, 15);
    const { metrics } = expected;
    assert.equal(final.eval_count, metrics.eval_count);
    assert.equal(final.total_duration, metrics.total_duration);
    assert.equal(final.load_duration, metrics.load_duration);
    assert.equal(final.prompt_eval_duration, metrics.prompt_eval_duration);
    assert.equal(final.eval_duration, metrics.eval_duration);
    assert.equal(final.total_duration, 5_000_000 + 15 * 2_000_000 + 8 * 25_000_000 + 1_000_000);
    assert.equal(final.context.length, 15 + 8);
    assert.equal(expected.text, "The café in 日本 serves 🦙 lattes &");
  });
});

Deno.test("generate: stream absent means streaming NDJSON, headers only Content-Type", async () => {
  await withSimulator({ now: FIXED_NOW }, async (sim) => {
    const response = await post(sim, "/api/generate", { model: "llama3.2", prompt: "hi" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/x-ndjson");
    assert.deepEqual(headerNames(response), ["content-type", "date", "transfer-encoding"]);
    const text = await response.text();
    const lines = ndjson(text);
    assert.deepEqual(Object.keys(lines[0] ?? {}), ["model", "created_at", "response", "done"]);
    assert.equal(lines[0]?.["created_at"], "2025-01-02T03:04:05.678Z");
    assert.deepEqual(Object.keys(lines.at(-1) ?? {}), [
      "model",
      "created_at",
      "response",
      "done",
      "done_reason",
      "context",
      "total_duration",
      "load_duration",
      "prompt_eval_count",
      "prompt_eval_duration",
      "eval_count",
      "eval_duration",
    ]);
    assert.ok(text.includes(String.raw`" \u0026"`), "Go escapes & as \\u0026");
    assert.ok(text.includes('"response":" 🦙"'), "multi-byte UTF-8 is written raw");
  });
});

Deno.test("generate and chat non-streaming answer one JSON object", async () => {
  await withSimulator({}, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    const generated = await ollama.generate({ model: "qwen2.5:0.5b", prompt: "one two three" });
    const expected = expectedCompletion("qwen2.5:0.5b", "one two three");
    assert.equal(generated.response, expected.text);
    assert.equal(generated.done, true);
    assert.equal(generated.eval_count, 8);
    assert.equal(generated.prompt_eval_count, 13);
    const messages = [
      { role: "system", content: "You are terse." },
      { role: "user", content: "hi there" },
    ];
    const chat = await ollama.chat({ model: "llama3.2", messages });
    assert.equal(chat.message.role, "assistant");
    assert.equal(chat.message.content, expected.text);
    assert.equal(chat.prompt_eval_count, 10 + (4 + 3) + (4 + 2));
    assert.equal(
      chat.total_duration,
      expectedCompletion("llama3.2", messages).metrics.total_duration,
    );
    const raw = await post(sim, "/api/chat", { model: "llama3.2", messages, stream: false });
    assert.equal(raw.headers.get("content-type"), "application/json; charset=utf-8");
    assert.ok(raw.headers.has("content-length"));
    const text = await raw.text();
    assert.ok(!text.endsWith("\n"), "gin's c.JSON writes no trailing newline");
  });
});

Deno.test("streaming chat through the ollama client", async () => {
  await withSimulator({}, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    const messages = [{ role: "user", content: "Tell me something" }];
    const expected = sim.expectedCompletion("llama3.2:latest", messages, { numPredict: 30 });
    const parts = [];
    for await (
      const part of await ollama.chat({
        model: "llama3.2:latest",
        messages,
        stream: true,
        options: { num_predict: 30 },
      })
    ) {
      parts.push(part);
    }
    const final = parts.pop();
    assert.deepEqual(parts.map((p) => p.message.content), expected.chunks);
    assert.equal(final?.done_reason, "length");
    assert.equal(final?.message.content, "");
    assert.equal(final?.message.role, "assistant");
    assert.equal(final?.eval_count, 30);
    assert.equal(final?.model, "llama3.2:latest");
    assert.equal(expected.tokens[25], RESPONSE_TOKENS[0]);
  });
});

Deno.test("num_predict: long streams end with done_reason length", async () => {
  await withSimulator({}, async (sim) => {
    const response = await post(sim, "/api/generate", {
      model: "llama3.2",
      prompt: "go on",
      options: { num_predict: 1500 },
    });
    const lines = ndjson(await response.text());
    assert.equal(lines.length, 1501);
    const final = lines.at(-1) ?? {};
    assert.equal(final["done_reason"], "length");
    assert.equal(final["eval_count"], 1500);
    assert.equal(
      lines.slice(0, -1).map((line) => line["response"]).join(""),
      expectedCompletion("llama3.2", "go on", { numPredict: 1500 }).text,
    );
  });
});

Deno.test("zero-valued metrics are omitted from the final chunk", async () => {
  await withSimulator({}, async (sim) => {
    const response = await post(sim, "/api/generate", {
      model: "llama3.2",
      prompt: "x",
      options: { num_predict: 0 },
      stream: false,
    });
    const body = await response.json();
    assert.equal(body.done_reason, "length");
    assert.equal("eval_count" in body, false);
    assert.equal("eval_duration" in body, false);
    assert.equal(body.prompt_eval_count, 11);
  });
});

Deno.test("lastTokenInFinalChunk: the done chunk carries the last token", async () => {
  await withSimulator({ lastTokenInFinalChunk: true }, async (sim) => {
    const expected = sim.expectedCompletion("llama3.2", "hi");
    assert.equal(expected.chunks.length, 7);
    assert.equal(expected.finalText, " &");
    const lines = ndjson(
      await (await post(sim, "/api/generate", {
        model: "llama3.2",
        prompt: "hi",
      })).text(),
    );
    assert.equal(lines.length, 8);
    assert.equal(lines.at(-1)?.["response"], " &");
    assert.equal(lines.at(-1)?.["eval_count"], 8);
  });
});

Deno.test("empty prompt / messages: one done_reason load object, unload with keep_alive 0", async () => {
  await withSimulator({}, async (sim) => {
    for (
      const [path, body] of [
        ["/api/generate", { model: "llama3.2", prompt: "" }],
        ["/api/generate", { model: "llama3.2" }],
        ["/api/chat", { model: "llama3.2", messages: [] }],
        ["/api/chat", { model: "llama3.2", stream: true }],
      ] as const
    ) {
      const response = await post(sim, path, body);
      assert.equal(response.headers.get("content-type"), "application/json; charset=utf-8");
      const object = await response.json();
      assert.equal(object.done, true);
      assert.equal(object.done_reason, "load");
      assert.equal(object.model, "llama3.2");
      assert.equal("eval_count" in object, false);
      assert.equal("prompt_eval_count" in object, false);
    }
    const chat = await (await post(sim, "/api/chat", { model: "llama3.2", messages: [] })).json();
    assert.deepEqual(chat.message, { role: "assistant", content: "" });
    const ollama = new Ollama({ host: sim.url });
    assert.equal((await ollama.ps()).models.length, 1);
    for (const keep_alive of [0, "0", "0s"]) {
      const unload = await post(sim, "/api/generate", { model: "llama3.2", keep_alive });
      assert.equal((await unload.json()).done_reason, "unload");
    }
    assert.equal((await ollama.ps()).models.length, 0);
  });
});

Deno.test("errors: unknown model 404, bad JSON 400, capability 400, missing body 400", async () => {
  await withSimulator({}, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    await assert.rejects(
      ollama.generate({ model: "ghost", prompt: "hi" }),
      (error: Error & { status_code?: number }) => {
        assert.equal(error.status_code, 404);
        assert.equal(error.message, "model 'ghost' not found");
        return true;
      },
    );
    const unknown = await post(sim, "/api/chat", { model: "ghost:7b", messages: [] });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get("content-type"), "application/json; charset=utf-8");
    assert.deepEqual(await unknown.json(), { error: "model 'ghost:7b' not found" });
    const bad = await post(sim, "/api/generate", "{not json");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /^invalid character/);
    const wrongType = await post(sim, "/api/generate", { model: "llama3.2", prompt: 5 });
    assert.equal(wrongType.status, 400);
    assert.match((await wrongType.json()).error, /cannot unmarshal number .*prompt of type string/);
    const empty = await post(sim, "/api/chat", "");
    assert.deepEqual(await empty.json(), { error: "missing request body" });
    const capability = await post(sim, "/api/generate", {
      model: "nomic-embed-text",
      prompt: "hi",
    });
    assert.equal(capability.status, 400);
    assert.deepEqual(await capability.json(), {
      error: '"nomic-embed-text" does not support generate',
    });
  });
});

// --- split writes ---------------------------------------------------------------------------

Deno.test("byte and random split deliver exactly the bytes of the line split", async () => {
  const bodies: Record<string, { bytes: Uint8Array; reads: Uint8Array[] }> = {};
  const request = {
    model: "llama3.2",
    messages: [{ role: "user", content: "hello" }],
    options: { num_predict: 12 },
  };
  for (const split of ["line", "byte", "random"] as const) {
    await withSimulator({ split, now: FIXED_NOW, seed: 7 }, async (sim) => {
      bodies[split] = await readAll(await post(sim, "/api/chat", request));
    });
  }
  const line = bodies["line"];
  const byte = bodies["byte"];
  const random = bodies["random"];
  assert.ok(line !== undefined && byte !== undefined && random !== undefined);
  assert.deepEqual(byte.bytes, line.bytes);
  assert.deepEqual(random.bytes, line.bytes);
  const lineCount = ndjson(new TextDecoder().decode(line.bytes)).length;
  assert.equal(lineCount, 13);
  assert.ok(
    byte.reads.length >= line.bytes.length / 2,
    `byte split arrives in many reads (${byte.reads.length} for ${line.bytes.length} bytes)`,
  );
  const strict = new TextDecoder("utf-8", { fatal: true });
  const cutsInsideCharacters = byte.reads.some((read) => {
    try {
      strict.decode(read);
      return false;
    } catch {
      return true;
    }
  });
  assert.ok(cutsInsideCharacters, "some reads end inside a multi-byte character");
  assert.ok(random.reads.length > lineCount, "random split cuts lines");
});

Deno.test("split applies to fixed bodies too, keeping Content-Length", async () => {
  // A Content-Length body has no chunk frames to keep writes apart: a pause makes them separate.
  await withSimulator({ split: "byte", splitDelayMs: 1 }, async (sim) => {
    const response = await fetch(`${sim.url}/api/version`);
    assert.equal(response.headers.get("content-length"), "20");
    const { bytes, reads } = await readAll(response);
    assert.equal(new TextDecoder().decode(bytes), '{"version":"0.33.0"}');
    assert.ok(reads.length > 5, `${reads.length} reads`);
  });
});

// --- mid-stream failures --------------------------------------------------------------------

Deno.test("failMidStream: status 200, chunks, then an error line", async () => {
  await withSimulator({ failMidStream: { afterChunks: 2, message: "boom" } }, async (sim) => {
    const response = await post(sim, "/api/generate", { model: "llama3.2", prompt: "hi" });
    assert.equal(response.status, 200);
    const lines = ndjson(await response.text());
    assert.deepEqual(lines.slice(0, 2).map((line) => line["response"]), ["The", " café"]);
    assert.deepEqual(lines[2], { error: "boom" });
    assert.equal(lines.length, 3);
    const ollama = new Ollama({ host: sim.url });
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (
        const part of await ollama.chat({
          model: "llama3.2",
          messages: [{ role: "user", content: "x" }],
          stream: true,
        })
      ) {
        seen.push(part.message.content);
      }
    }, /boom/);
    assert.deepEqual(seen, ["The", " café"]);
    const whole = await post(sim, "/api/generate", {
      model: "llama3.2",
      prompt: "hi",
      stream: false,
    });
    assert.equal(whole.status, 500);
    assert.deepEqual(await whole.json(), { error: "boom" });
    sim.configure({ failMidStream: { afterChunks: 0 } });
    const early = await post(sim, "/api/generate", { model: "llama3.2", prompt: "hi" });
    assert.equal(early.status, 500);
    assert.deepEqual(await early.json(), { error: DEFAULT_FAILURE_MESSAGE });
    sim.configure({ failMidStream: true });
    const one = ndjson(
      await (await post(sim, "/api/generate", {
        model: "llama3.2",
        prompt: "hi",
      })).text(),
    );
    assert.equal(one.length, 2);
    assert.deepEqual(one[1], { error: DEFAULT_FAILURE_MESSAGE });
    sim.configure({ failMidStream: false });
    const healthy = ndjson(
      await (await post(sim, "/api/generate", {
        model: "llama3.2",
        prompt: "hi",
      })).text(),
    );
    assert.equal(healthy.at(-1)?.["done"], true);
  });
});

Deno.test("failMidStream on the OpenAI endpoints: an SSE error frame the SDK throws", async () => {
  await withSimulator({ failMidStream: { afterChunks: 3, message: "kaput" } }, async (sim) => {
    const raw = await post(sim, "/v1/chat/completions", {
      model: "llama3.2",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    assert.equal(raw.status, 200);
    const frames = sseData(await raw.text());
    assert.equal(frames.length, 4);
    assert.deepEqual(JSON.parse(frames[3] ?? ""), {
      error: { message: "kaput", type: "api_error", param: null, code: null },
    });
    const client = openai(sim);
    const stream = await client.chat.completions.create({
      model: "llama3.2",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    let chunks = 0;
    await assert.rejects(async () => {
      for await (const _chunk of stream) chunks++;
    }, (error: Error) => error instanceof OpenAI.APIError && /kaput/.test(error.message));
    assert.equal(chunks, 3);
  });
});

// --- client going away ----------------------------------------------------------------------

Deno.test("a client cancelling mid-stream is recorded as aborted and production stops", async () => {
  await withSimulator({ tokenDelayMs: 2 }, async (sim) => {
    const response = await post(sim, "/api/generate", {
      model: "llama3.2",
      prompt: "long",
      options: { num_predict: 5000 },
    });
    const reader = response.body?.getReader();
    assert.ok(reader !== undefined);
    for (let i = 0; i < 3; i++) await reader.read();
    await reader.cancel();
    const record = sim.requests[0];
    assert.ok(record !== undefined);
    await record.finished;
    assert.equal(record.aborted, true);
    assert.equal(record.completed, false);
    assert.equal(record.status, 200);
    const sent = record.bytesSent;
    assert.ok(sent > 0 && sent < 5000 * 50, `stopped early after ${sent} bytes`);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(record.bytesSent, sent, "nothing is produced after the abort");
  });
});

Deno.test("aborts through the ollama client and the openai SDK are recorded", async () => {
  await withSimulator({ tokenDelayMs: 2 }, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    const stream = await ollama.generate({
      model: "llama3.2",
      prompt: "long",
      stream: true,
      options: { num_predict: 2000 },
    });
    let parts = 0;
    await assert.rejects(async () => {
      for await (const _part of stream) {
        if (++parts === 2) stream.abort();
      }
    }, (error: Error) => error.name === "AbortError");
    const client = openai(sim);
    const sse = await client.chat.completions.create({
      model: "llama3.2",
      messages: [{ role: "user", content: "long" }],
      stream: true,
      max_tokens: 2000,
    });
    let chunks = 0;
    for await (const _chunk of sse) {
      if (++chunks === 2) break;
    }
    await sim.settled();
    assert.deepEqual(sim.requests.map((r) => [r.path, r.aborted, r.completed]), [
      ["/api/generate", true, false],
      ["/v1/chat/completions", true, false],
    ]);
  });
});

Deno.test("a client leaving before the first token is recorded as aborted", async () => {
  await withSimulator({ firstTokenDelayMs: 2000 }, async (sim) => {
    const controller = new AbortController();
    const started = performance.now();
    const pending = fetch(`${sim.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2", prompt: "hi" }),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, (error: Error) => error.name === "AbortError");
    await sim.settled();
    assert.ok(performance.now() - started < 1500, "noticed before the delay ran out");
    assert.equal(sim.requests[0]?.aborted, true);
  });
});

// --- delays ---------------------------------------------------------------------------------

Deno.test("firstTokenDelayMs delays the headers; tokenDelayMs spaces the chunks", async () => {
  await withSimulator({ firstTokenDelayMs: 120, tokenDelayMs: 15 }, async (sim) => {
    const started = performance.now();
    const response = await post(sim, "/api/generate", { model: "llama3.2", prompt: "hi" });
    const headersAt = performance.now() - started;
    await response.text();
    const doneAt = performance.now() - started;
    assert.ok(headersAt >= 110, `headers after ${headersAt} ms`);
    assert.ok(doneAt >= 110 + 7 * 15 - 10, `body done after ${doneAt} ms`);
    sim.configure({ firstTokenDelayMs: 0, tokenDelayMs: 0 });
    const quick = performance.now();
    await (await post(sim, "/api/generate", { model: "llama3.2", prompt: "hi" })).text();
    assert.ok(performance.now() - quick < 100);
  });
});

Deno.test("close() ends a response under way and leaks nothing", async () => {
  const sim = await OllamaSimulator.start({ tokenDelayMs: 20 });
  const response = await post(sim, "/api/generate", {
    model: "llama3.2",
    prompt: "x",
    options: { num_predict: 1000 },
  });
  const reader = response.body?.getReader();
  assert.ok(reader !== undefined);
  await reader.read();
  const closing = sim.close();
  for (;;) {
    const { done } = await reader.read().catch(() => ({ done: true }));
    if (done) break;
  }
  await closing;
  assert.equal(sim.requests[0]?.completed, false);
  assert.equal(sim.requests[0]?.aborted, false);
  await sim.close();
});

// --- embeddings -----------------------------------------------------------------------------

Deno.test("/api/embed and /api/embeddings through the ollama client", async () => {
  await withSimulator({}, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    const input = ["hello world", "日本 🦙"];
    const expected = expectedEmbedding("nomic-embed-text", input);
    const embed = await ollama.embed({ model: "nomic-embed-text", input });
    assert.equal(embed.embeddings.length, 2);
    assert.equal(embed.embeddings[0]?.length, 768);
    assert.deepEqual(embed.embeddings, expected.embeddings);
    assert.equal(embed.prompt_eval_count, (2 + 2) + (2 + 2));
    assert.equal(embed.total_duration, expected.metrics.total_duration);
    assert.equal(embed.load_duration, 5_000_000);
    const short = await ollama.embed({ model: "llama3.2", input: "x", dimensions: 16 });
    assert.deepEqual(short.embeddings, [expectedEmbedding("llama3.2", "x").vector(0).slice(0, 16)]);
    const legacy = await ollama.embeddings({ model: "nomic-embed-text", prompt: "hello world" });
    assert.deepEqual(legacy.embedding, expected.vector(0));
    const raw = await (await post(sim, "/api/embed", { model: "nomic-embed-text", input: "a" }))
      .text();
    assert.match(raw, /^\{"model":"nomic-embed-text","embeddings":\[\[/);
    assert.match(raw, /\]\],"total_duration":\d+,"load_duration":5000000,"prompt_eval_count":3\}$/);
    const none = await (await post(sim, "/api/embed", { model: "nomic-embed-text", input: "" }))
      .json();
    assert.deepEqual(none, { model: "nomic-embed-text", embeddings: [] });
  });
});

Deno.test("/v1/embeddings through the openai SDK (base64) and raw (float)", async () => {
  await withSimulator({}, async (sim) => {
    const client = openai(sim);
    const expected = expectedEmbedding("nomic-embed-text", ["a b", "c"]);
    const result = await client.embeddings.create({
      model: "nomic-embed-text",
      input: ["a b", "c"],
    });
    assert.equal(result.object, "list");
    assert.equal(result.model, "nomic-embed-text");
    assert.deepEqual(result.data.map((d) => d.embedding), expected.embeddings);
    assert.deepEqual(result.data.map((d) => d.index), [0, 1]);
    assert.deepEqual(result.usage, { prompt_tokens: 7, total_tokens: 7 });
    const raw = await post(sim, "/v1/embeddings", {
      model: "nomic-embed-text",
      input: "a b",
      encoding_format: "float",
    });
    assert.equal(raw.headers.get("content-type"), "application/json");
    const text = await raw.text();
    assert.ok(text.endsWith("}\n"));
    const body = JSON.parse(text);
    assert.deepEqual(Object.keys(body), ["object", "data", "model", "usage"]);
    assert.deepEqual(body.data[0].embedding, expected.vector(0));
    await assert.rejects(
      client.embeddings.create({ model: "ghost", input: "x" }),
      (error: Error) => error instanceof OpenAI.NotFoundError,
    );
  });
});

Deno.test("a 60 MB /api/embed body is streamed in pieces", async () => {
  await withSimulator({ embedDimensions: 8_000_000 }, async (sim) => {
    const response = await post(sim, "/api/embed", { model: "nomic-embed-text", input: "big" });
    assert.equal(response.headers.get("transfer-encoding"), "chunked");
    const { bytes, reads } = await readAll(response);
    assert.ok(bytes.length > 60_000_000, `${bytes.length} bytes`);
    assert.ok(reads.length > 100);
    const body = JSON.parse(new TextDecoder().decode(bytes));
    const expected = sim.expectedEmbedding("nomic-embed-text", "big");
    assert.equal(body.embeddings[0].length, 8_000_000);
    for (const j of [0, 1, 4_000_000, 7_999_999]) {
      assert.equal(body.embeddings[0][j], expected.component(0, j));
    }
    assert.equal(body.prompt_eval_count, 3);
  });
});

// --- OpenAI-compatible chat and completions ---------------------------------------------------

Deno.test("openai SDK: non-streaming chat and completion carry usage", async () => {
  await withSimulator({}, async (sim) => {
    const client = openai(sim);
    const messages = [{ role: "user" as const, content: "Why is the sky blue?" }];
    const expected = expectedCompletion("llama3.2", messages);
    const chat = await client.chat.completions.create({ model: "llama3.2", messages });
    assert.equal(chat.object, "chat.completion");
    assert.match(chat.id, /^chatcmpl-\d+$/);
    assert.equal(chat.model, "llama3.2");
    assert.equal(chat.system_fingerprint, "fp_ollama");
    assert.equal(chat.choices[0]?.message.content, expected.text);
    assert.equal(chat.choices[0]?.finish_reason, "stop");
    assert.deepEqual(chat.usage, expected.usage);
    const completion = await client.completions.create({
      model: "llama3.2",
      prompt: "once upon",
      max_tokens: 3,
    });
    assert.equal(completion.object, "text_completion");
    assert.equal(completion.choices[0]?.text, "The café in");
    assert.equal(completion.choices[0]?.finish_reason, "length");
    assert.deepEqual(completion.usage, {
      prompt_tokens: 12,
      completion_tokens: 3,
      total_tokens: 15,
    });
    const raw = await post(sim, "/v1/chat/completions", { model: "llama3.2", messages });
    assert.equal(raw.headers.get("content-type"), "application/json");
    assert.ok((await raw.text()).endsWith("}\n"), "json.Encoder adds a newline");
  });
});

Deno.test("openai SDK: streaming chat, role only in the first delta, usage on request", async () => {
  await withSimulator({}, async (sim) => {
    const client = openai(sim);
    const messages = [{ role: "user" as const, content: "hi" }];
    const expected = expectedCompletion("llama3.2", messages);
    const chunks = [];
    for await (
      const chunk of await client.chat.completions.create({
        model: "llama3.2",
        messages,
        stream: true,
        stream_options: { include_usage: true },
      })
    ) {
      chunks.push(chunk);
    }
    const usage = chunks.pop();
    const finish = chunks.pop();
    assert.deepEqual(usage?.choices, []);
    assert.deepEqual(usage?.usage, expected.usage);
    assert.deepEqual(finish?.choices[0]?.delta, {});
    assert.equal(finish?.choices[0]?.finish_reason, "stop");
    assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: "assistant", content: "The" });
    assert.ok(chunks.slice(1).every((c) => !("role" in (c.choices[0]?.delta ?? {}))));
    assert.deepEqual(chunks.map((c) => c.choices[0]?.delta.content), expected.chunks);
    const raw = await post(sim, "/v1/chat/completions", {
      model: "llama3.2",
      messages,
      stream: true,
    });
    assert.equal(raw.headers.get("content-type"), "text/event-stream");
    const frames = sseData(await raw.text());
    assert.equal(frames.at(-1), "[DONE]");
    assert.equal(frames.length, expected.chunks.length + 2, "no usage chunk unless asked");
  });
});

Deno.test("/v1/completions streaming with include_usage: zero usage on every chunk", async () => {
  await withSimulator({}, async (sim) => {
    const raw = await post(sim, "/v1/completions", {
      model: "llama3.2",
      prompt: "hi",
      stream: true,
      max_tokens: 4,
      stream_options: { include_usage: true },
    });
    const frames = sseData(await raw.text());
    assert.equal(frames.pop(), "[DONE]");
    const chunks = frames.map((frame) => JSON.parse(frame));
    const last = chunks.pop();
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });
    assert.equal(chunks.length, 5);
    for (const chunk of chunks) {
      assert.deepEqual(chunk.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
      assert.deepEqual(Object.keys(chunk), [
        "id",
        "object",
        "created",
        "choices",
        "model",
        "system_fingerprint",
        "usage",
      ]);
    }
    assert.equal(chunks.at(-1).choices[0].finish_reason, "length");
    const client = openai(sim);
    let text = "";
    for await (
      const chunk of await client.completions.create({
        model: "llama3.2",
        prompt: "hi",
        stream: true,
      })
    ) {
      text += chunk.choices[0]?.text ?? "";
    }
    assert.equal(text, expectedCompletion("llama3.2", "hi").text);
  });
});

Deno.test("/v1/completions with an empty prompt answers Ollama's load response", async () => {
  await withSimulator({}, async (sim) => {
    const streamed = await post(sim, "/v1/completions", {
      model: "llama3.2",
      prompt: "",
      stream: true,
    });
    const frames = sseData(await streamed.text());
    assert.equal(frames.length, 2);
    assert.equal(JSON.parse(frames[0] ?? "").choices[0].finish_reason, "load");
    const whole = await (await post(sim, "/v1/completions", { model: "llama3.2", prompt: "" }))
      .json();
    assert.equal(whole.choices[0].finish_reason, "load");
    assert.deepEqual(whole.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });
});

Deno.test("openai errors: unknown model 404 not_found_error, empty messages 400", async () => {
  await withSimulator({}, async (sim) => {
    const client = openai(sim);
    await assert.rejects(
      client.chat.completions.create({
        model: "ghost",
        messages: [{ role: "user", content: "x" }],
      }),
      (error: Error) => {
        assert.ok(error instanceof OpenAI.NotFoundError);
        assert.equal(error.status, 404);
        assert.equal(error.type, "not_found_error");
        assert.match(error.message, /model 'ghost' not found/);
        return true;
      },
    );
    await assert.rejects(
      client.chat.completions.create({ model: "llama3.2", messages: [] }),
      (error: Error) =>
        error instanceof OpenAI.BadRequestError && /too short - 'messages'/.test(error.message),
    );
    const raw = await post(sim, "/v1/chat/completions", {
      model: "nomic-embed-text",
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(raw.status, 400);
    assert.deepEqual(await raw.json(), {
      error: {
        message: '"nomic-embed-text" does not support chat',
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    });
  });
});

Deno.test("openai SDK: /v1/models and /v1/models/:model", async () => {
  await withSimulator({}, async (sim) => {
    const client = openai(sim);
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    assert.deepEqual(models.map((m) => m.id), [
      "llama3.2:latest",
      "qwen2.5:0.5b",
      "nomic-embed-text:latest",
    ]);
    assert.ok(models.every((m) => m.object === "model" && m.owned_by === "library"));
    const one = await client.models.retrieve("llama3.2");
    assert.equal(one.id, "llama3.2");
    await assert.rejects(
      client.models.retrieve("ghost"),
      (error: Error) => error instanceof OpenAI.NotFoundError,
    );
  });
});

// --- model management -----------------------------------------------------------------------

Deno.test("pull streams progress and installs the model; stream:false gives only success", async () => {
  await withSimulator({ pullIntervalMs: 5 }, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    const statuses: string[] = [];
    for await (const progress of await ollama.pull({ model: "tinyllama", stream: true })) {
      statuses.push(progress.status);
    }
    assert.equal(statuses[0], "pulling manifest");
    assert.deepEqual(statuses.slice(-3), [
      "verifying sha256 digest",
      "writing manifest",
      "success",
    ]);
    assert.ok(statuses.some((s) => /^pulling [0-9a-f]{12}$/.test(s)));
    assert.ok((await ollama.list()).models.some((m) => m.name === "tinyllama:latest"));
    const raw = await post(sim, "/api/pull", { model: "other", stream: false });
    assert.equal(raw.headers.get("content-type"), "application/json; charset=utf-8");
    assert.deepEqual(await raw.json(), { status: "success" });
    const lines = ndjson(await (await post(sim, "/api/pull", { model: "x" })).text());
    const layer = lines.find((line) => "total" in line && !("completed" in line));
    assert.ok(layer !== undefined, "completed is omitted while zero");
    sim.configure({ registry: ["llama3.2"] });
    await assert.rejects(async () => {
      for await (const _ of await ollama.pull({ model: "missing", stream: true })) {
        // drain
      }
    }, /pull model manifest: file does not exist/);
  });
});

Deno.test("delete, copy, create and push", async () => {
  await withSimulator({}, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    await ollama.copy({ source: "llama3.2", destination: "mine" });
    assert.ok((await ollama.list()).models.some((m) => m.name === "mine:latest"));
    const deleted = await fetch(`${sim.url}/api/delete`, {
      method: "DELETE",
      body: JSON.stringify({ model: "mine" }),
    });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.headers.get("content-length"), "0");
    assert.equal(await deleted.text(), "");
    const again = await fetch(`${sim.url}/api/delete`, {
      method: "DELETE",
      body: JSON.stringify({ model: "mine" }),
    });
    assert.equal(again.status, 404);
    assert.deepEqual(await again.json(), { error: "model 'mine' not found" });
    const created = [];
    for await (
      const progress of await ollama.create({ model: "custom", from: "qwen2.5:0.5b", stream: true })
    ) {
      created.push(progress.status);
    }
    assert.equal(created.at(-1), "success");
    assert.ok((await ollama.list()).models.some((m) => m.name === "custom:latest"));
    const pushed = await ollama.push({ model: "custom" });
    assert.equal(pushed.status, "success");
  });
});

Deno.test("ps: auto tracking per keep_alive, or a fixed list", async () => {
  await withSimulator({}, async (sim) => {
    const ollama = new Ollama({ host: sim.url });
    await ollama.generate({ model: "llama3.2", prompt: "hi" });
    await ollama.embed({ model: "nomic-embed-text", input: "x", keep_alive: "1h" });
    const ps = await ollama.ps();
    assert.deepEqual(ps.models.map((m) => m.name), ["nomic-embed-text:latest", "llama3.2:latest"]);
    const llama = ps.models[1];
    assert.ok(llama !== undefined);
    assert.equal(llama.size_vram, llama.size);
    const expiresIn = new Date(llama.expires_at).getTime() - Date.now();
    assert.ok(expiresIn > 4 * 60_000 && expiresIn <= 5 * 60_000, `${expiresIn}`);
    const raw = await (await fetch(`${sim.url}/api/ps`)).json();
    assert.equal(raw.models[1].context_length, 4096);
    sim.configure({
      loaded: [{
        name: "llama3.2:latest",
        size: 123,
        size_vram: 100,
        expires_at: "2030-01-01T00:00:00Z",
        context_length: 8192,
      }],
    });
    const fixed = await (await fetch(`${sim.url}/api/ps`)).json();
    assert.deepEqual(fixed.models.map((m: Record<string, unknown>) => Object.keys(m)), [[
      "name",
      "model",
      "size",
      "digest",
      "details",
      "expires_at",
      "size_vram",
      "context_length",
    ]]);
    assert.equal(fixed.models[0].size, 123);
    assert.equal(fixed.models[0].size_vram, 100);
    assert.equal(fixed.models[0].expires_at, "2030-01-01T00:00:00Z");
    assert.equal(fixed.models[0].context_length, 8192);
  });
});

Deno.test("blobs: HEAD 404, POST 201 when the digest matches, 400 when not", async () => {
  await withSimulator({}, async (sim) => {
    const content = "hello blob";
    const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(content));
    const digest = `sha256:${
      [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("")
    }`;
    const url = `${sim.url}/api/blobs/${digest}`;
    const missing = await fetch(url, { method: "HEAD" });
    assert.equal(missing.status, 404);
    const created = await fetch(url, { method: "POST", body: content });
    assert.equal(created.status, 201);
    await created.body?.cancel();
    assert.equal((await fetch(url, { method: "HEAD" })).status, 200);
    const wrong = await fetch(`${sim.url}/api/blobs/sha256:${"0".repeat(64)}`, {
      method: "POST",
      body: content,
    });
    assert.equal(wrong.status, 400);
    assert.match((await wrong.json()).error, /^digest mismatch/);
  });
});

// --- recording, fast mode, helpers, CLI -----------------------------------------------------

Deno.test("requests are recorded with method, path, query, headers and body", async () => {
  await withSimulator({}, async (sim) => {
    await (await fetch(`${sim.url}/api/tags?x=1`, { headers: { "X-Test": "yes" } })).text();
    await (await post(sim, "/api/generate", { model: "llama3.2", prompt: "hi" })).text();
    await sim.settled();
    const [tags, generate] = sim.requests;
    assert.equal(tags?.method, "GET");
    assert.equal(tags?.path, "/api/tags");
    assert.equal(tags?.query, "?x=1");
    assert.equal(tags?.headers.get("x-test"), "yes");
    assert.equal(generate?.json()["prompt"], "hi");
    assert.equal(generate?.completed, true);
    assert.equal(generate?.aborted, false);
    assert.equal(generate?.status, 200);
    assert.ok((generate?.bytesSent ?? 0) > 8 * 90, "every byte of the body is counted");
    assert.equal(sim.requestCount, 2);
    sim.requests.length = 0;
    assert.equal(sim.requests.length, 0);
  });
});

Deno.test("fast mode: same bytes, no delays, requests only counted", async () => {
  let slow = "";
  await withSimulator({ now: FIXED_NOW }, async (sim) => {
    slow = await (await post(sim, "/api/generate", { model: "llama3.2", prompt: "hi" })).text();
  });
  await withSimulator({
    now: FIXED_NOW,
    fast: true,
    tokenDelayMs: 1000,
    firstTokenDelayMs: 1000,
  }, async (sim) => {
    const started = performance.now();
    const fast = await (await post(sim, "/api/generate", { model: "llama3.2", prompt: "hi" }))
      .text();
    assert.ok(performance.now() - started < 500);
    assert.equal(fast, slow);
    assert.equal(sim.requests.length, 0);
    assert.equal(sim.requestCount, 1);
  });
});

Deno.test("timings and responseTokens are configurable and mirrored by the helpers", async () => {
  const timings = { loadNs: 1, promptNsPerToken: 10, evalNsPerToken: 100, overheadNs: 1000 };
  await withSimulator({ timings, responseTokens: 3 }, async (sim) => {
    const expected = sim.expectedCompletion("llama3.2", "a b c");
    assert.deepEqual(expected.metrics, {
      total_duration: 1 + 13 * 10 + 3 * 100 + 1000,
      load_duration: 1,
      prompt_eval_count: 13,
      prompt_eval_duration: 130,
      eval_count: 3,
      eval_duration: 300,
    });
    const final = ndjson(
      await (await post(sim, "/api/generate", {
        model: "llama3.2",
        prompt: "a b c",
      })).text(),
    ).at(-1);
    for (const [key, value] of Object.entries(expected.metrics)) {
      assert.equal(final?.[key], value, key);
    }
    assert.deepEqual(
      expectedCompletion("m", "a b c", { timings, responseTokens: 3 }).metrics,
      expected.metrics,
    );
  });
});

Deno.test("the command line serves until SIGTERM", async () => {
  const script = new URL("./support/ollama_simulator.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-lock", "--allow-net", script, "--port", "0", "--token-delay-ms", "1"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!output.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) break;
    output += value;
  }
  const url = /http:\/\/127\.0\.0\.1:\d+/.exec(output)?.[0];
  assert.ok(url !== undefined, `printed its URL: ${output}`);
  assert.equal(await (await fetch(`${url}/`)).text(), "Ollama is running");
  child.kill("SIGTERM");
  for (;;) {
    const { value, done } = await lines.read();
    if (done) break;
    output += value;
  }
  const status = await child.status;
  await child.stderr.cancel();
  assert.equal(status.code, 0);
  assert.match(output, /stopped/);
});
