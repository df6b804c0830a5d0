/**
 * Request bodies on the observed routes, seen from a scripted Ollama that records every request
 * byte for byte: the OpenAI usage request is inserted in place (everything else reaches Ollama
 * unchanged, small bodies read whole as large ones streamed), bodies over MAX_REQUEST_BYTES get a
 * 413 in the API's own error shape without (or after aborting) the upstream request, and a body
 * that is not JSON is forwarded unchanged for Ollama to refuse.
 */

import assert from "node:assert/strict";
import { ExporterHarness, FIXED_CLOCK } from "./support/exporter_harness.ts";
import { type Script, ScriptedServer } from "./support/scripted_server.ts";
import { targetOf } from "./support/hostile.ts";

const MODEL = "llama3.2:latest";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const json = (body: unknown) => {
  const text = JSON.stringify(body);
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${text.length}\r\n\r\n${text}`;
};

const SSE_CHUNK = (rest: string) =>
  `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"llama3.2",` +
  `"system_fingerprint":"fp_ollama",${rest}}\n\n`;
const SSE = SSE_CHUNK(
  `"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]`,
) +
  SSE_CHUNK(
    `"choices":[{"index":0,"delta":{"role":"assistant","content":""},` +
      `"finish_reason":"stop"}]`,
  ) +
  SSE_CHUNK(`"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}`) +
  "data: [DONE]\n\n";

/** A scripted Ollama: its checks, an SSE stream for OpenAI chat, a small answer for the rest. */
const script: Script = async (request, conn) => {
  const target = targetOf(request);
  if (target === "/api/version") return await conn.write(json({ version: "0.13.5" }));
  if (target === "/api/tags") {
    return await conn.write(json({ models: [{ name: MODEL, model: MODEL }] }));
  }
  if (target === "/v1/chat/completions") {
    return await conn.write(
      `HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: ${SSE.length}` +
        `\r\n\r\n${SSE}`,
    );
  }
  await conn.write(json({ model: MODEL, done: true }));
};

async function withUpstream(
  body: (h: ExporterHarness, upstream: ScriptedServer) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const upstream = new ScriptedServer(script);
  let harness: ExporterHarness | undefined;
  try {
    harness = await ExporterHarness.start({
      upstream: upstream.origin,
      simulator: FIXED_CLOCK,
      env,
    });
    await body(harness, upstream);
  } finally {
    await upstream.close();
    await harness?.close();
  }
}

const recorded = (upstream: ScriptedServer, target: string) =>
  upstream.requests.filter((request) => targetOf(request) === target);

const USAGE = ',"stream_options":{"include_usage":true}';

/** A streaming chat request whose bytes JSON.parse/stringify would change. */
function chatRequest(padding: number): string {
  return '{"model":"llama3.2", "stream" : true,"n":12345678901234567890,"t":1.0,' +
    '"s":"caf\\u00e9 \\"}\\" {","stream_options":{"include_usage":false},"max_tokens":5,' +
    `"messages":[{"role":"user","content":"${"x".repeat(padding)}"}]\n}\n`;
}

/** Where the insertion goes: in front of the last `}`. */
const withUsage = (text: string) => {
  const close = text.lastIndexOf("}");
  return text.slice(0, close) + USAGE + text.slice(close);
};

Deno.test("OpenAI streaming request: usage asked for in place, every other byte unchanged", async () => {
  await withUpstream(async (h, upstream) => {
    const cases: { padding: number; chunked: boolean }[] = [
      { padding: 10, chunked: false }, // read whole
      { padding: 200_000, chunked: false }, // streamed, length known
      { padding: 200_000, chunked: true }, // streamed, length unknown
    ];
    for (const [i, { padding, chunked }] of cases.entries()) {
      const text = chatRequest(padding);
      const bytes = encoder.encode(text);
      const response = await fetch(`${h.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: chunked
          ? ReadableStream.from([bytes.subarray(0, 70_000), bytes.subarray(70_000)])
          : bytes,
      });
      assert.equal(response.status, 200);
      const answer = await response.text();
      // The client asked for no usage: it sees none.
      assert.ok(!answer.includes('"usage"'), answer);
      assert.ok(answer.endsWith("data: [DONE]\n\n"));
      const sent = recorded(upstream, "/v1/chat/completions")[i]!;
      assert.equal(decoder.decode(sent.body), withUsage(text), `case ${i}`);
      const framing = padding > 60_000
        ? "transfer-encoding: chunked"
        : `content-length: ${bytes.length + USAGE.length}`;
      assert.ok(sent.head.toLowerCase().includes(framing), sent.head);
    }
    await h.settle();
    assert.equal(await h.value("ollama_tokens_generated_total", { model: MODEL }), 6);
  });
});

Deno.test("requests that need no insertion reach Ollama byte for byte", async () => {
  await withUpstream(async (h, upstream) => {
    const bodies = [
      '{"model":"llama3.2","stream":true,"stream_options":{"include_usage":true}}',
      '{"model":"llama3.2","stream":false,"messages":[]}',
      '{"model":"llama3.2","messages":[]}',
      "not json {",
      '["model","llama3.2"]',
    ];
    for (const [i, text] of bodies.entries()) {
      const response = await fetch(`${h.url}/v1/chat/completions`, { method: "POST", body: text });
      await response.body?.cancel();
      assert.equal(decoder.decode(recorded(upstream, "/v1/chat/completions")[i]!.body), text);
    }
    // Large bodies on every other observed route, streamed with the client's length.
    const large = `{"model":"llama3.2","input":"${"y".repeat(300_000)}"}`;
    for (const path of ["/api/embed", "/v1/embeddings", "/api/create"]) {
      const response = await fetch(`${h.url}${path}`, { method: "POST", body: large });
      await response.body?.cancel();
      const sent = recorded(upstream, path)[0]!;
      assert.equal(decoder.decode(sent.body), large, path);
      assert.ok(sent.head.toLowerCase().includes(`content-length: ${large.length}`), sent.head);
    }
    await h.settle();
    assert.equal(
      await h.value("ollama_requests_total", { model: MODEL, endpoint: "/api/embed", code: "200" }),
      1,
    );
  });
});

Deno.test("with INJECT_STREAM_USAGE=false the request is forwarded unchanged", async () => {
  await withUpstream(async (h, upstream) => {
    const text = chatRequest(10);
    const response = await fetch(`${h.url}/v1/chat/completions`, { method: "POST", body: text });
    // Ollama's usage chunk (sent here regardless) is passed on as it came.
    assert.ok((await response.text()).includes('"usage"'));
    assert.equal(decoder.decode(recorded(upstream, "/v1/chat/completions")[0]!.body), text);
  }, { INJECT_STREAM_USAGE: "false" });
});

Deno.test("Content-Length over MAX_REQUEST_BYTES: 413 at once in the API's shape, Ollama not asked", async () => {
  await withUpstream(async (h, upstream) => {
    const body = `{"model":"llama3.2","prompt":"${"z".repeat(4000)}"}`;
    const cases: [string, (error: unknown) => void][] = [
      ["/api/chat", (e) => assert.match((e as { error: string }).error, /limit of 2000 bytes/)],
      ["/v1/chat/completions", (e) =>
        assert.deepEqual(
          { ...(e as { error: Record<string, unknown> }).error, message: "" },
          { message: "", type: "invalid_request_error", param: null, code: "request_too_large" },
        )],
      ["/v1/messages", (e) => {
        const error = e as { type: string; error: { type: string } };
        assert.equal(error.type, "error");
        assert.equal(error.error.type, "request_too_large");
      }],
      ["/api/pull", (e) => assert.ok("error" in (e as object))],
    ];
    for (const [path, check] of cases) {
      const response = await fetch(`${h.url}${path}`, { method: "POST", body });
      assert.equal(response.status, 413, path);
      check(await response.json());
      assert.equal(recorded(upstream, path).length, 0, path);
    }
    // Blob uploads are not limited.
    const blob = await fetch(`${h.url}/api/blobs/sha256:${"0".repeat(64)}`, {
      method: "POST",
      body: "b".repeat(10000),
    });
    await blob.body?.cancel();
    assert.equal(blob.status, 200);
    const samples = await h.scrape();
    const labels = { model: "", endpoint: "/api/chat" };
    assert.equal(h.valueIn(samples, "ollama_requests_total", { ...labels, code: "413" }), 1);
    assert.equal(
      h.valueIn(samples, "ollama_request_errors_total", { ...labels, reason: "request_too_large" }),
      1,
    );
  }, { MAX_REQUEST_BYTES: "2000" });
});

Deno.test("a chunked body growing past MAX_REQUEST_BYTES: upstream aborted, 413 to the client", async () => {
  await withUpstream(async (h, upstream) => {
    const port = Number(new URL(h.url).port);
    for (const path of ["/api/generate", "/v1/chat/completions"]) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const write = async (text: string) => {
        const bytes = encoder.encode(text);
        for (let i = 0; i < bytes.length;) i += await conn.write(bytes.subarray(i));
      };
      const piece = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
      await write(
        `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n\r\n` +
          piece(`{"model":"llama3.2","prompt":"${"a".repeat(1200)}`),
      );
      // Let the first chunk go upstream, then grow past the limit.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await write(piece("b".repeat(1200)));
      const received: Uint8Array[] = [];
      const buffer = new Uint8Array(4096);
      for (;;) {
        const n = await conn.read(buffer).catch(() => null);
        if (n === null) break;
        received.push(buffer.slice(0, n));
        const text = decoder.decode(new Uint8Array(received.flatMap((b) => [...b])));
        if (/\r\n\r\n[\s\S]*\}$/.test(text)) break;
      }
      conn.close();
      const text = received.map((b) => decoder.decode(b)).join("");
      assert.match(text, /^HTTP\/1\.1 413 /, path);
      assert.match(text, /limit of 2000 bytes/);
      // The upstream request was cut off: Ollama never received it whole.
      assert.equal(recorded(upstream, path).length, 0, path);
    }
    await h.settle();
    const samples = await h.scrape();
    for (const endpoint of ["/api/generate", "/v1/chat/completions"]) {
      const labels = { model: MODEL, endpoint };
      assert.equal(h.valueIn(samples, "ollama_requests_total", { ...labels, code: "413" }), 1);
      assert.equal(
        h.valueIn(samples, "ollama_request_errors_total", {
          ...labels,
          reason: "request_too_large",
        }),
        1,
      );
    }
  }, { MAX_REQUEST_BYTES: "2000" });
});
