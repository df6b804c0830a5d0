/**
 * The exporter in front of a REAL Ollama (v0.24.0 with tiny random-weight models, from
 * `../shared/real-ollama`, or `OLLAMA_TEST_URL`): what the client sees through the exporter is
 * checked against what the same request gets from Ollama directly, and the metrics against the
 * numbers Ollama itself reported. Skipped, with one line saying why, when no real Ollama is
 * available.
 */
import assert from "node:assert/strict";
import { ExporterHarness } from "./support/exporter_harness.ts";
import { rawRequest } from "./support/raw_http.ts";
import { withRealOllama } from "./support/sdk_real_ollama.ts";
import {
  REAL_OLLAMA_ABSENT,
  REAL_OLLAMA_START_ABSENT,
  type RealOllama,
  startRealOllama,
} from "./support/real_ollama.ts";

if (REAL_OLLAMA_ABSENT !== null) console.log(REAL_OLLAMA_ABSENT);
else if (REAL_OLLAMA_START_ABSENT !== null) {
  console.log(`${REAL_OLLAMA_START_ABSENT}; the tests needing a server of their own are skipped`);
}

const MODEL = "tiny:latest";
const decoder = new TextDecoder();

interface Answer {
  readonly status: number;
  readonly text: string;
}

async function post(base: string, path: string, body: string): Promise<Answer> {
  const response = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return { status: response.status, text: decoder.decode(await response.bytes()) };
}

/** The SSE `data:` payloads of a stream, `[DONE]` left out. */
function events(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
    .map((line) => JSON.parse(line.slice(6)));
}

/** Per-response values (id, creation second) replaced, so two answers compare byte for byte. */
function stable(text: string): string {
  return text.replaceAll(/"id":"chatcmpl-\d+"/g, '"id":"chatcmpl-N"')
    .replaceAll(/"created":\d+/g, '"created":0');
}

Deno.test({
  name: "real Ollama: OpenAI stream usage is injected in place, stripped, and counted exactly",
  ignore: REAL_OLLAMA_ABSENT !== null,
  fn: () =>
    withRealOllama({}, async (real, h) => {
      const base = {
        model: "tiny",
        messages: [{ role: "user", content: "Name three colours" }],
        stream: true,
        max_tokens: 5,
        temperature: 0,
        seed: 7,
      };
      const cases = [
        { name: "no stream_options", extra: {}, usage: false },
        {
          name: "include_usage false",
          extra: { stream_options: { include_usage: false } },
          usage: false,
        },
        {
          name: "include_usage true",
          extra: { stream_options: { include_usage: true } },
          usage: true,
        },
      ];
      // What Ollama generates for this greedy request, from its own usage chunk.
      const reference = await post(
        real.url,
        "/v1/chat/completions",
        JSON.stringify({ ...base, stream_options: { include_usage: true } }),
      );
      const completion = (text: string): number => {
        const usage = events(text).map((e) => e.usage as { completion_tokens: number } | undefined)
          .filter((u) => u !== undefined);
        assert.equal(usage.length, 1, `one usage chunk in ${text}`);
        return usage[0]!.completion_tokens;
      };
      const expectedTokens = completion(reference.text);
      assert.ok(expectedTokens >= 1 && expectedTokens <= 5, String(expectedTokens));
      for (const { name, extra, usage } of cases) {
        const request = JSON.stringify({ ...base, ...extra });
        const direct = await post(real.url, "/v1/chat/completions", request);
        const before = await h.value("ollama_tokens_generated_total", { model: MODEL }) ?? 0;
        const proxied = await post(h.url, "/v1/chat/completions", request);
        await h.settle();
        const after = await h.value("ollama_tokens_generated_total", { model: MODEL }) ?? 0;
        assert.equal(direct.status, 200, name);
        assert.equal(proxied.status, 200, name);
        assert.equal(direct.text.includes('"usage"'), usage, `direct, ${name}`);
        assert.equal(proxied.text.includes('"usage"'), usage, `through the exporter, ${name}`);
        assert.ok(proxied.text.endsWith("data: [DONE]\n\n"), name);
        // Greedy decoding: the same stream, whether or not the exporter asked for usage.
        assert.equal(stable(proxied.text), stable(direct.text), name);
        if (usage) assert.equal(after - before, completion(proxied.text), name);
        assert.equal(after - before, expectedTokens, name);
      }
    }),
});

/** `Host` values (from the port each server listens on) both answer alike. */
const SAME_HOSTS: readonly ((port: number) => string)[] = [
  () => "evil.example",
  (port) => `localhost:${port}`,
  (port) => `evil.example:${port}`,
  (port) => `127.0.0.1:${port}`,
  (port) => `[::1]:${port}`,
  () => "LOCALHOST",
  () => "localhost.evil.example",
  () => "localhost.",
  () => "8.8.8.8",
  () => "127.1",
  () => "10.0.0.1",
  () => "printer.local",
  () => "a.localhost",
  () => "",
  // Bracketed without a port: Go's SplitHostPort fails, the whole value is no IP address.
  () => "[::1]",
  () => "[::]",
  () => "[fd00::1]",
  () => "[::ffff:127.0.0.1]",
];

/**
 * `Host` values that make no URL authority. Ollama answers them by its own rule (200 for `::1`
 * and `:80`, 403 for `localhost:PORT:1`); Deno cannot build the request's URL from them, so the
 * exporter answers 400 (never a 500 with a stack trace).
 */
const BAD_HOSTS: readonly ((port: number) => string)[] = [
  () => "::1",
  () => ":80",
  (port) => `localhost:${port}:1`,
];

/** Sends each Host to Ollama and to the exporter (both on 127.0.0.1); asserts equal statuses. */
async function sameHostStatuses(
  real: RealOllama,
  h: ExporterHarness,
  hosts: readonly ((port: number) => string)[],
): Promise<string[]> {
  const exporterPort = Number(new URL(h.url).port);
  const seen: string[] = [];
  for (const host of hosts) {
    for (const path of ["/api/version", "/api/tags"]) {
      const direct = await rawRequest(real.port, path, { headers: { Host: host(real.port) } });
      const proxied = await rawRequest(exporterPort, path, {
        headers: { Host: host(exporterPort) },
      });
      assert.equal(proxied.status, direct.status, `Host: ${host(exporterPort)}, ${path}`);
      seen.push(`${host(0)} ${direct.status}`);
    }
  }
  return seen;
}

Deno.test({
  name: "real Ollama: the exporter on 127.0.0.1 answers each Host with Ollama's own status",
  ignore: REAL_OLLAMA_START_ABSENT !== null,
  fn: () =>
    // A server of our own: OLLAMA_TEST_URL's may not listen on 127.0.0.1.
    withRealOllama({ own: true, env: { LISTEN_HOST: "127.0.0.1" } }, async (real, h) => {
      const seen = await sameHostStatuses(real, h, SAME_HOSTS);
      // The two that matter most, as Ollama v0.24.0 answers them.
      assert.ok(seen.includes("evil.example 403"), seen.join(", "));
      assert.ok(seen.includes("localhost:0 200"), seen.join(", "));
    }),
});

Deno.test({
  name: "real Ollama: a Host that makes no URL gets 400 from the exporter, not a 500",
  ignore: REAL_OLLAMA_START_ABSENT !== null,
  fn: () =>
    withRealOllama({ own: true, env: { LISTEN_HOST: "127.0.0.1" } }, async (_real, h) => {
      const exporterPort = Number(new URL(h.url).port);
      for (const host of BAD_HOSTS) {
        const proxied = await rawRequest(exporterPort, "/api/tags", {
          headers: { Host: host(exporterPort) },
        });
        assert.equal(proxied.status, 400, `Host: ${host(exporterPort)}`);
      }
    }),
});

Deno.test({
  name: "real Ollama: a model name in capitals works and is counted under its normalised name",
  ignore: REAL_OLLAMA_ABSENT !== null,
  fn: () =>
    withRealOllama({}, async (real, h) => {
      const request = JSON.stringify({
        model: "TINY",
        prompt: "hi",
        stream: false,
        options: { num_predict: 5 },
      });
      const direct = await post(real.url, "/api/generate", request);
      const proxied = await post(h.url, "/api/generate", request);
      assert.equal(proxied.status, direct.status);
      // Ollama v0.24.0 compares names without regard to case: 200, and it echoes "TINY".
      assert.equal(direct.status, 200, direct.text);
      const answer = JSON.parse(proxied.text);
      assert.equal(answer.model, JSON.parse(direct.text).model);
      await h.settle();
      const samples = await h.scrape();
      const labels = { model: MODEL, endpoint: "/api/generate" };
      assert.equal(h.valueIn(samples, "ollama_requests_total", { ...labels, code: "200" }), 1);
      assert.equal(
        h.valueIn(samples, "ollama_tokens_generated_total", { model: MODEL }),
        answer.eval_count,
      );
      assert.equal(
        h.valueIn(samples, "ollama_tokens_processed_total", { model: MODEL }),
        answer.prompt_eval_count,
      );
      const other = [...samples.keys()].filter((key) => /model="[^"]*[A-Z]/.test(key));
      assert.deepEqual(other, [], "no series under a name with capitals");
    }),
});

Deno.test({
  name: "real Ollama: a 64 MB /api/chat body gets the status Ollama gives it directly",
  ignore: REAL_OLLAMA_ABSENT !== null,
  fn: () =>
    withRealOllama({}, async (real, h) => {
      // 64 MB in a member Ollama decodes and ignores: a 64 MB message *content* crashes
      // Ollama v0.24.0 (see the next test), and tokenising 64 MB of words takes minutes.
      const body = `{"model":"tiny","padding":"${"a".repeat(64 * 1024 * 1024)}",` +
        `"messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":3}}`;
      const direct = await post(real.url, "/api/chat", body);
      const proxied = await post(h.url, "/api/chat", body);
      assert.equal(proxied.status, direct.status, `${direct.text} / ${proxied.text}`);
      assert.equal(direct.status, 200, direct.text);
      assert.equal(JSON.parse(proxied.text).done, true);
    }),
});

/** Posts `body`; the status, or `null` when the connection ended without a response. */
async function statusOrNothing(url: string, body: string): Promise<number | null> {
  try {
    const response = await fetch(url, { method: "POST", body });
    await response.body?.cancel();
    return response.status;
  } catch {
    return null;
  }
}

async function waitForExit(real: RealOllama, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    if (!real.alive()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !real.alive();
}

Deno.test({
  name: "real Ollama: 8 MB of 'a' in a message: the exporter's client gets Ollama's answer or 502",
  ignore: REAL_OLLAMA_START_ABSENT !== null,
  fn: async () => {
    // Servers of our own: Ollama v0.24.0 crashes (SIGSEGV in its tokenizer) on a long run of
    // one letter, already at 64 KB; it never answers, so the exporter answers 502.
    const body = JSON.stringify({
      model: "tiny",
      messages: [{ role: "user", content: "a".repeat(8 * 1024 * 1024) }],
      stream: false,
      options: { num_predict: 3 },
    });
    let direct: number | null;
    const first = await startRealOllama({ own: true });
    try {
      direct = await statusOrNothing(`${first.url}/api/chat`, body);
      if (direct === null) assert.ok(await waitForExit(first, 5000), "Ollama exited");
    } finally {
      await first.close();
    }
    await withRealOllama({ own: true }, async (real, h) => {
      const response = await fetch(`${h.url}/api/chat`, { method: "POST", body });
      const answer = await response.text();
      assert.equal(response.status, direct ?? 502, answer);
      if (direct === null) {
        assert.match(JSON.parse(answer).error, /Ollama/);
        assert.ok(await waitForExit(real, 5000), "Ollama exited");
        await h.settle();
        const samples = await h.scrape();
        const labels = { model: MODEL, endpoint: "/api/chat" };
        assert.equal(h.valueIn(samples, "ollama_requests_total", { ...labels, code: "502" }), 1);
      }
    });
  },
});

/** A TCP relay to `target` that records every byte sent towards it. */
function relay(target: { hostname: string; port: number }) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  let sent = "";
  const pipe = async (from: Deno.Conn, to: Deno.Conn, record: boolean): Promise<void> => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (record) sent += new TextDecoder("latin1").decode(buffer.subarray(0, n));
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch {
      // One side closed.
    } finally {
      for (const conn of [from, to]) {
        if (conns.delete(conn)) {
          try {
            conn.close();
          } catch {
            // Already closed.
          }
        }
      }
    }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      conns.add(client);
      let upstream: Deno.Conn;
      try {
        upstream = await Deno.connect(target);
      } catch {
        conns.delete(client);
        client.close();
        continue;
      }
      conns.add(upstream);
      tasks.push(pipe(client, upstream, true), pipe(upstream, client, false));
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    sent: () => sent,
    async close(): Promise<void> {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      conns.clear();
      await Promise.allSettled(tasks);
    },
  };
}

Deno.test({
  name: "real Ollama: a body over MAX_REQUEST_BYTES gets 413 and never reaches Ollama",
  ignore: REAL_OLLAMA_ABSENT !== null,
  fn: async () => {
    const real = await startRealOllama();
    const upstream = new URL(real.url);
    const tap = relay({ hostname: upstream.hostname, port: Number(upstream.port) });
    try {
      const h = await ExporterHarness.start({
        upstream: tap.url,
        env: { MAX_REQUEST_BYTES: "1048576" },
      });
      try {
        const posts = () => tap.sent().split("POST /api/chat ").length - 1;
        const big = JSON.stringify({
          model: "tiny",
          messages: [{ role: "user", content: "a".repeat(2 * 1024 * 1024) }],
          stream: false,
          options: { num_predict: 3 },
        });
        const before = tap.sent().length;
        const refused = await post(h.url, "/api/chat", big);
        assert.equal(refused.status, 413, refused.text);
        assert.match(JSON.parse(refused.text).error, /1048576 bytes/);
        assert.equal(posts(), 0, "no /api/chat request reached Ollama");
        assert.ok(tap.sent().length - before < 4096, "none of the body reached Ollama");
        // The relay does carry requests: a small one goes through to Ollama.
        const small = JSON.stringify({
          model: "tiny",
          messages: [{ role: "user", content: "hi" }],
          stream: false,
          options: { num_predict: 3 },
        });
        assert.equal((await post(h.url, "/api/chat", small)).status, 200);
        assert.equal(posts(), 1);
        await h.settle();
        const samples = await h.scrape();
        assert.equal(
          h.valueIn(samples, "ollama_requests_total", {
            model: "",
            endpoint: "/api/chat",
            code: "413",
          }),
          1,
        );
      } finally {
        await h.close();
      }
    } finally {
      await tap.close();
      await real.close();
    }
  },
});
