/**
 * Ollama's connection breaking in the middle of an answer, with a scripted upstream: the client
 * gets what arrived and then an error (or a 502 when nothing was sent yet), and the request is
 * counted with a stream error, on observed and pass-through endpoints alike.
 */

import assert from "node:assert/strict";
import { withHarness } from "./support/exporter_harness.ts";
import { type Script, ScriptedServer } from "./support/scripted_server.ts";

const MODEL = "llama3.2:latest";

/** Answers the exporter's checks of Ollama; `answer` handles everything else. */
function ollamaLike(answer: Script): Script {
  return async (request, conn) => {
    const json = (body: unknown) => {
      const text = JSON.stringify(body);
      return `HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${text.length}\r\n\r\n${text}`;
    };
    if (request.head.startsWith("GET /api/version ")) {
      return await conn.write(json({ version: "0.13.5" }));
    }
    if (request.head.startsWith("GET /api/tags ")) {
      return await conn.write(json({ models: [{ name: MODEL, model: MODEL }] }));
    }
    await answer(request, conn);
  };
}

const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;

async function withBrokenUpstream(
  answer: Script,
  body: (h: Parameters<Parameters<typeof withHarness>[1]>[0]) => Promise<void>,
): Promise<void> {
  const upstream = new ScriptedServer(ollamaLike(answer));
  try {
    await withHarness({ upstream: upstream.origin }, body);
  } finally {
    await upstream.close();
  }
}

Deno.test("a native stream cut off mid-way: the client gets what came, then an error; stream_error", async () => {
  const lines = [
    `{"model":"${MODEL}","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"Hi"},"done":false}\n`,
    `{"model":"${MODEL}","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"!"},"done":false}\n`,
  ];
  await withBrokenUpstream(async (_request, conn) => {
    await conn.write(
      "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n" +
        chunk(lines[0]!) + chunk(lines[1]!),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    conn.close();
  }, async (h) => {
    const response = await fetch(`${h.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const received: string[] = [];
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received.push(new TextDecoder().decode(value));
      }
    });
    assert.equal(received.join(""), lines.join(""));
    await h.settle();
    const labels = { model: MODEL, endpoint: "/api/chat" };
    assert.equal(await h.value("ollama_requests_total", { ...labels, code: "200" }), 1);
    assert.equal(
      await h.value("ollama_request_errors_total", { ...labels, reason: "stream_error" }),
      1,
    );
  });
});

Deno.test("a small answer cut short of its length: 502 naming why, stream_error", async () => {
  await withBrokenUpstream(async (_request, conn) => {
    await conn.write(
      "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: 400\r\n\r\n" +
        `{"model":"${MODEL}",`,
    );
    conn.close();
  }, async (h) => {
    const response = await fetch(`${h.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2", prompt: "hi", stream: false }),
    });
    assert.equal(response.status, 502);
    assert.deepEqual(await response.json(), {
      error: "Cannot read Ollama's answer: the connection closed after 27 of 400 body bytes",
    });
    await h.settle();
    const labels = { model: MODEL, endpoint: "/api/generate" };
    assert.equal(await h.value("ollama_requests_total", { ...labels, code: "502" }), 1);
    assert.equal(
      await h.value("ollama_request_errors_total", { ...labels, reason: "stream_error" }),
      1,
    );
  });
});

Deno.test("a pass-through stream cut off mid-way is counted as a stream error", async () => {
  await withBrokenUpstream(async (_request, conn) => {
    await conn.write(
      "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n" +
        chunk('{"status":"pulling manifest"}\n'),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    conn.close();
  }, async (h) => {
    const response = await fetch(`${h.url}/api/pull`, {
      method: "POST",
      body: JSON.stringify({ model: "llama3.2" }),
    });
    assert.equal(response.status, 200);
    await assert.rejects(response.text());
    await h.settle();
    assert.equal(
      await h.value("ollama_request_errors_total", {
        model: MODEL,
        endpoint: "/api/pull",
        reason: "stream_error",
      }),
      1,
    );
  });
});
