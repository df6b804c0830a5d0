/**
 * The exporter in front of a hostile Ollama (a scripted server): stray bytes never answer another
 * client, a request whose connection closes unanswered is not sent twice, heads that cannot be
 * represented become a 502 in the API's error shape, time limits a 504 or a cut stream, an early
 * 413 reaches the client, ambiguous framing is refused, a client that leaves frees the upstream
 * connection, and a thousand broken exchanges leave nothing behind.
 */

import assert from "node:assert/strict";
import { ExporterHarness, FIXED_CLOCK } from "./support/exporter_harness.ts";
import {
  answersEarly,
  Deadline,
  delay,
  EARLY,
  headerOf,
  openFds,
  targetOf,
  until,
} from "./support/hostile.ts";
import {
  type Script,
  ScriptedServer,
  type ScriptedServerOptions,
} from "./support/scripted_server.ts";

const MODEL = "llama3.2:latest";
const decoder = new TextDecoder();

const json = (body: unknown, extraHeaders = "") => {
  const text = JSON.stringify(body);
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n${extraHeaders}` +
    `content-length: ${text.length}\r\n\r\n${text}`;
};

/** Answers the exporter's checks of Ollama; `answer` handles everything else. */
function ollamaLike(answer: Script): Script {
  return async (request, conn) => {
    if (request.head.startsWith("GET /api/version ")) {
      return await conn.write(json({ version: "0.13.5" }));
    }
    if (request.head.startsWith("GET /api/tags ")) {
      return await conn.write(json({ models: [{ name: MODEL, model: MODEL }] }));
    }
    await answer(request, conn);
  };
}

/**
 * Runs `body` with an exporter in front of a scripted Ollama. The scripted server is closed first:
 * that ends exchanges the exporter may still be waiting on, so the exporter can shut down.
 */
async function withUpstream(
  answer: Script,
  body: (h: ExporterHarness, upstream: ScriptedServer) => Promise<void>,
  options: { env?: Record<string, string>; server?: ScriptedServerOptions } = {},
): Promise<void> {
  const upstream = new ScriptedServer(ollamaLike(answer), options.server ?? {});
  let harness: ExporterHarness | undefined;
  try {
    harness = await ExporterHarness.start({
      upstream: upstream.origin,
      simulator: FIXED_CLOCK,
      ...(options.env ? { env: options.env } : {}),
    });
    await body(harness, upstream);
  } finally {
    await upstream.close();
    await harness?.close();
  }
}

const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;

function generation(response: string): Record<string, unknown> {
  return {
    model: MODEL,
    created_at: "2026-01-01T00:00:00Z",
    response,
    done: true,
    done_reason: "stop",
    prompt_eval_count: 3,
    eval_count: 2,
  };
}

const generateBody = (prompt: string) =>
  JSON.stringify({ model: "llama3.2", prompt, stream: false });
const chatBody = JSON.stringify({
  model: "llama3.2",
  messages: [{ role: "user", content: "hi" }],
});

function post(
  h: ExporterHarness,
  path: string,
  body: BodyInit,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${h.url}${path}`, { method: "POST", body, ...init });
}

/** The sum of every `ollama_requests_in_flight` series. */
async function inFlight(h: ExporterHarness): Promise<number> {
  let sum = 0;
  for (const [series, value] of await h.scrape()) {
    if (series.startsWith("ollama_requests_in_flight")) sum += value;
  }
  return sum;
}

async function settled(h: ExporterHarness, timeoutMs = 1000): Promise<void> {
  await until(async () => await inFlight(h) === 0, "0 requests in flight", timeoutMs);
}

async function noUpstreamConnection(h: ExporterHarness, timeoutMs = 1000): Promise<void> {
  await until(
    () => h.exporter.upstreamConnections.open === 0,
    `0 open upstream connections (${h.exporter.upstreamConnections.open} open)`,
    timeoutMs,
  );
}

const errors = (h: ExporterHarness, endpoint: string, reason: string) =>
  h.value("ollama_request_errors_total", { model: MODEL, endpoint, reason });

/** Asserts an error body in the API's shape and returns its message. */
function errorMessage(body: unknown, shape: "ollama" | "openai"): string {
  const error = (body as { error?: unknown }).error;
  if (shape === "ollama") {
    assert.equal(typeof error, "string", `Ollama's error shape: ${JSON.stringify(body)}`);
    return error as string;
  }
  const message = (error as { message?: unknown } | undefined)?.message;
  assert.equal(typeof message, "string", `OpenAI's error shape: ${JSON.stringify(body)}`);
  return message as string;
}

// --- 1. Stray bytes ---------------------------------------------------------------------------

Deno.test("20 clients in a row each get their own answer when Ollama writes stray bytes after each", async () => {
  await withUpstream(async (request, conn) => {
    // The inventory's `GET /api/ps` at scrape time goes unanswered: this Ollama lists nothing.
    if (!request.head.startsWith("POST /api/generate ")) return conn.close();
    const prompt = JSON.parse(decoder.decode(request.body)).prompt as string;
    const n = Number(prompt.split("-")[1]);
    const answer = json(generation(`answer-${n}`));
    const stray = json(generation(`stray-${n}`));
    switch (n % 4) {
      case 0:
        return await conn.write(answer + "stray bytes");
      case 1:
        return await conn.write(answer + stray);
      case 2: {
        const text = JSON.stringify(generation(`answer-${n}`));
        return await conn.write(
          "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n" +
            "transfer-encoding: chunked\r\n\r\n" + chunk(text) + "0\r\n\r\n" + stray,
        );
      }
      default:
        // A whole second answer while the connection idles in the pool.
        await conn.write(answer);
        await delay(100);
        await conn.write(stray);
    }
  }, async (h) => {
    for (let n = 0; n < 20; n++) {
      const response = await post(h, "/api/generate", generateBody(`prompt-${n}`));
      assert.equal(response.status, 200, `client ${n}`);
      const body = await response.json();
      assert.equal(body.response, `answer-${n}`, `client ${n} got its own answer`);
      if (n % 4 === 3) await delay(250);
    }
    await settled(h);
    assert.equal(
      await h.value("ollama_requests_total", {
        model: MODEL,
        endpoint: "/api/generate",
        code: "200",
      }),
      20,
    );
  });
});

// --- 2. No replay -----------------------------------------------------------------------------

for (const method of ["DELETE", "POST"]) {
  Deno.test(`${method} /api/delete on a pooled connection that closes unanswered: sent once, 502`, async () => {
    await withUpstream(async (request, conn) => {
      if (targetOf(request) === "/api/delete") return conn.close();
      await conn.write(json({ ok: true }));
    }, async (h, upstream) => {
      const warm = await fetch(`${h.url}/api/ps`);
      assert.equal(warm.status, 200);
      await warm.body?.cancel();
      await until(() => h.exporter.upstreamConnections.idle === 1, "1 pooled connection");
      const response = await fetch(`${h.url}/api/delete`, {
        method,
        body: JSON.stringify({ model: "llama3.2" }),
      });
      assert.equal(response.status, 502);
      errorMessage(await response.json(), "ollama");
      const deletes = upstream.requests.filter((r) => targetOf(r) === "/api/delete");
      assert.equal(deletes.length, 1, "Ollama received the delete exactly once");
      assert.equal(deletes[0]!.index, 1, "on the pooled connection");
      await settled(h);
    });
  });
}

// --- 3. Bad heads -----------------------------------------------------------------------------

const BAD_HEADS: [string, string][] = [
  ["a NUL in a header value", "HTTP/1.1 200 OK\r\nx-a: a\0b\r\ncontent-length: 2\r\n\r\n{}"],
  ["status 999", "HTTP/1.1 999 Nope\r\ncontent-length: 2\r\n\r\n{}"],
  [
    "content-length and transfer-encoding",
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n" +
    "transfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
  ],
];

const SHAPED: ["ollama" | "openai", string, string][] = [
  ["ollama", "/api/generate", generateBody("hi")],
  ["openai", "/v1/chat/completions", chatBody],
];

for (const [name, wire] of BAD_HEADS) {
  Deno.test(`a head with ${name}: 502 in the API's error shape, upstream_protocol_error`, async () => {
    await withUpstream(async (_request, conn) => {
      await conn.write(wire);
    }, async (h) => {
      for (const [shape, path, body] of SHAPED) {
        const response = await post(h, path, body);
        assert.equal(response.status, 502, `${path}`);
        assert.match(response.headers.get("content-type") ?? "", /application\/json/);
        errorMessage(await response.json(), shape);
        await settled(h);
        assert.equal(await errors(h, path, "upstream_protocol_error"), 1, path);
        await noUpstreamConnection(h);
      }
    });
  });
}

// --- 4. Time limits ---------------------------------------------------------------------------

Deno.test("UPSTREAM_HEAD_TIMEOUT_SECONDS=0.3 and an Ollama that never answers: 504, upstream_timeout", async () => {
  await withUpstream(async (_request, conn) => {
    await conn.waitClosed();
  }, async (h) => {
    for (const [shape, path, body] of SHAPED) {
      using deadline = new Deadline(5000);
      const start = performance.now();
      const response = await post(h, path, body, { signal: deadline.signal });
      const took = performance.now() - start;
      assert.equal(response.status, 504, path);
      errorMessage(await response.json(), shape);
      assert.ok(took < 2000, `${path}: the 504 came after ${took.toFixed(0)} ms`);
      await settled(h);
      assert.equal(await errors(h, path, "upstream_timeout"), 1, path);
      await noUpstreamConnection(h);
    }
  }, { env: { UPSTREAM_HEAD_TIMEOUT_SECONDS: "0.3" } });
});

Deno.test("UPSTREAM_IDLE_TIMEOUT_SECONDS=0.3 and a chat stream that stalls: cut off, upstream_timeout", async () => {
  const line = JSON.stringify({
    model: MODEL,
    created_at: "2026-01-01T00:00:00Z",
    message: { role: "assistant", content: "Hi" },
    done: false,
  }) + "\n";
  await withUpstream(async (_request, conn) => {
    await conn.write(
      "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n" +
        chunk(line),
    );
    await conn.waitClosed();
  }, async (h) => {
    using deadline = new Deadline(5000);
    const start = performance.now();
    const response = await post(h, "/api/chat", chatBody, { signal: deadline.signal });
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    let received = "";
    let failed = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += decoder.decode(value);
      }
    } catch {
      failed = true;
    }
    const took = performance.now() - start;
    assert.ok(!deadline.expired, "the stream was not cut off within 5 s");
    assert.ok(took < 2000, `the stream ended after ${took.toFixed(0)} ms`);
    assert.ok(failed || received === line, `failed or truncated after the first line`);
    await settled(h);
    assert.equal(await errors(h, "/api/chat", "upstream_timeout"), 1);
    await noUpstreamConnection(h);
  }, { env: { UPSTREAM_IDLE_TIMEOUT_SECONDS: "0.3" } });
});

// --- 5. Early answer --------------------------------------------------------------------------

/**
 * The same with `connection: close`, as Go's net/http (Ollama) sends when it leaves a body unread:
 * a smaller body may have been written whole before the answer came, and then nothing tells the
 * exporter that the connection will not carry another request.
 */
const answersEarlyAndCloses: Script = async (_request, conn) => {
  await conn.write(
    `HTTP/1.1 413 Request Entity Too Large\r\ncontent-type: application/json\r\n` +
      `connection: close\r\ncontent-length: ${EARLY.length}\r\n\r\n${EARLY}`,
  );
  await delay(50);
};

const EIGHT_MB = 8 * 1024 * 1024;

for (
  const [path, makeBody] of [
    ["/api/blobs/sha256:0000", () => new Uint8Array(EIGHT_MB).fill(0x61)],
    ["/api/generate", () => generateBody("a".repeat(EIGHT_MB))],
  ] as const
) {
  Deno.test(`Ollama answering 413 to ${path} before reading an 8 MB body: the client gets the 413`, async () => {
    await withUpstream(answersEarly, async (h, upstream) => {
      const response = await post(h, path, makeBody());
      assert.equal(response.status, 413);
      assert.equal(await response.text(), EARLY);
      assert.equal(upstream.requests.filter((r) => targetOf(r) === path).length, 1);
      await settled(h);
      await noUpstreamConnection(h);
    }, { server: { headOnly: (head) => head.startsWith("POST ") } });
  });
}

// --- 6. Ambiguous framing ---------------------------------------------------------------------

Deno.test("content-length 5 with a 20-byte chunked body: 502, not a truncated 200", async () => {
  const body = '{"response":"abcde"}';
  assert.equal(body.length, 20);
  await withUpstream(async (_request, conn) => {
    await conn.write(
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5\r\n" +
        "transfer-encoding: chunked\r\n\r\n" + chunk(body) + "0\r\n\r\n",
    );
  }, async (h) => {
    const response = await post(h, "/api/generate", generateBody("hi"));
    const text = await response.text();
    assert.notEqual(response.status, 200, `a 200 with ${JSON.stringify(text)}`);
    assert.equal(response.status, 502);
    errorMessage(JSON.parse(text), "ollama");
    await settled(h);
  });
});

// --- 7. A client that leaves ------------------------------------------------------------------

Deno.test("a client that leaves while a small answer stalls frees the upstream connection; client_disconnect", async () => {
  await withUpstream(async (_request, conn) => {
    await conn.write(
      "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n" +
        '{"model":"',
    );
    await conn.waitClosed();
  }, async (h, upstream) => {
    const abort = new AbortController();
    const pending = post(h, "/api/generate", generateBody("hi"), { signal: abort.signal });
    await until(
      () => upstream.requests.some((r) => targetOf(r) === "/api/generate"),
      "the request at Ollama",
    );
    await delay(100);
    abort.abort();
    await assert.rejects(pending);
    await noUpstreamConnection(h);
    await settled(h);
    await until(
      async () => await errors(h, "/api/generate", "client_disconnect") === 1,
      "counted as client_disconnect",
    );
  });
});

// --- 8. Release -------------------------------------------------------------------------------

const KINDS = [
  "stray",
  "close unanswered",
  "nul",
  "status 999",
  "cl+te",
  "early 413",
  "close mid-body",
  "client leaves",
] as const;
type Kind = typeof KINDS[number];

const EXPECTED: Record<Kind, number | "rejected"> = {
  "stray": 200,
  "close unanswered": 502,
  "nul": 502,
  "status 999": 502,
  "cl+te": 502,
  "early 413": 413,
  "close mid-body": 502,
  "client leaves": "rejected",
};

Deno.test("1,000 broken exchanges through the exporter, 10 at a time, leave nothing behind", async () => {
  const script: Script = async (request, conn) => {
    const kind = headerOf(request, "x-test-kind") as Kind;
    const n = headerOf(request, "x-test-n");
    switch (kind) {
      case "stray":
        return await conn.write(json(generation(`answer-${n}`)) + "HTTP/1.1 200 OK\r\n\r\n");
      case "close unanswered":
        return conn.close();
      case "nul":
        return await conn.write(BAD_HEADS[0]![1]);
      case "status 999":
        return await conn.write(BAD_HEADS[1]![1]);
      case "cl+te":
        return await conn.write(BAD_HEADS[2]![1]);
      case "early 413":
        return await answersEarlyAndCloses(request, conn);
      case "close mid-body":
        await conn.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789");
        return conn.close();
      case "client leaves":
        await conn.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789");
        return await conn.waitClosed();
    }
  };
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    await withUpstream(script, async (h) => {
      const exchange = async (n: number): Promise<string> => {
        const kind = KINDS[n % KINDS.length]!;
        const abort = new AbortController();
        const body = kind === "early 413"
          ? generateBody("a".repeat(256 * 1024))
          : generateBody(`prompt-${n}`);
        const pending = fetch(`${h.url}/api/generate`, {
          method: "POST",
          body,
          headers: { "x-test-kind": kind, "x-test-n": String(n) },
          signal: abort.signal,
          client,
        });
        try {
          if (kind === "client leaves") {
            await delay(20);
            abort.abort();
          }
          const response = await pending;
          const text = await response.text();
          if (kind === "stray" && !text.includes(`"answer-${n}"`)) {
            return `${kind}: wrong answer ${text.slice(0, 80)}`;
          }
          return `${kind}: ${response.status}`;
        } catch {
          return `${kind}: rejected`;
        }
      };
      // Warm-up: the pool and everything loaded once.
      await Promise.all(Array.from({ length: 10 }, (_, i) => exchange(i * KINDS.length)));
      await settled(h);
      const pooledFds = () => openFds() - 2 * h.exporter.upstreamConnections.idle;
      const baseline = pooledFds();
      const start = performance.now();
      const outcomes = new Map<string, number>();
      let next = 0;
      await Promise.all(Array.from({ length: 10 }, async () => {
        while (next < 1000) {
          const outcome = await exchange(next++);
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        }
      }));
      const took = performance.now() - start;
      const summary = [...outcomes].map(([k, v]) => `${k} x${v}`).sort().join("; ");
      for (const kind of KINDS) {
        const expected = `${kind}: ${EXPECTED[kind]}`;
        assert.equal(outcomes.get(expected), 125, `every "${kind}" exchange: ${summary}`);
      }
      assert.ok(took < 30_000, `the loop took ${took.toFixed(0)} ms`);
      await settled(h, 2000);
      await until(
        () => h.exporter.upstreamConnections.open === h.exporter.upstreamConnections.idle,
        `down to pooled upstream connections (${JSON.stringify(h.exporter.upstreamConnections)})`,
        2000,
      );
      // Each pooled connection holds two descriptors here (the exporter's and Ollama's end).
      await until(
        () => pooledFds() <= baseline + 5,
        `back to ${baseline} file descriptors (+5): ${pooledFds()}`,
        2000,
      );
    }, { server: { headOnly: (head) => /\r\nx-test-kind: early 413\r\n/i.test(head) } });
  } finally {
    client.close();
  }
});
