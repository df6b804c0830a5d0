/**
 * The saturation signals through the exporter, against the simulator's model of Ollama's
 * scheduler (parallel slots, its queue, num_ctx and truncation), every value exact:
 * `ollama_queue_wait_seconds` from the simulator's known waits (a manual clock), the
 * `ollama_requests_waiting` gauge while requests are held, `server_busy` errors on a full queue,
 * inter-token latency counts per stream on every family, context usage ratios and the limit,
 * discarded output chunks of clients that left at a known point, and the `client` label on errors
 * and response time.
 */

import assert from "node:assert/strict";
import { CONTEXT_USAGE_BUCKETS, QUEUE_WAIT_BUCKETS } from "../lib/exporter_metrics.ts";
import { formatBucketBound } from "../lib/metrics/format_bucket_bound.ts";
import { type ExporterHarness, withHarness } from "./support/exporter_harness.ts";
import {
  DEFAULT_TIMINGS,
  type GenerationPath,
  SERVER_BUSY_MESSAGE,
} from "./support/ollama_simulator.ts";

const MODEL = "llama3.2:latest";
const QWEN = "qwen2.5:0.5b";
const EMBED = "nomic-embed-text:latest";
const THINKER = "qwen3:0.6b";

/** Polls `condition` until it holds, failing with `what` after `ms`. */
async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 5000,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!await condition()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** POSTs `body` to the exporter and reads the whole answer. */
async function send(
  h: ExporterHarness,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${h.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

/** A request the simulator holds before its first byte until the client leaves. */
interface Held {
  /** The client leaves; resolves once the exporter recorded it. */
  leave(): Promise<void>;
}

/**
 * Sends `body` to `path` through the exporter while the simulator holds first tokens for a
 * minute; resolves once the simulator received it and (unless `admitted` is false) lets it run.
 */
async function hold(
  h: ExporterHarness,
  path: string,
  body: unknown,
  options: { admitted?: boolean } = {},
): Promise<Held> {
  const sim = h.simulator;
  sim.configure({ firstTokenDelayMs: 60_000 });
  const from = sim.requests.length;
  const controller = new AbortController();
  const done = fetch(`${h.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: controller.signal,
  }).then((response) => response.body?.cancel(), () => {});
  // The exporter's own calls (/api/ps, /api/tags) may come in between.
  const record = () => sim.requests.slice(from).find((r) => r.method === "POST" && r.path === path);
  await until(() => record() !== undefined, `${path} reached the simulator`);
  if (options.admitted !== false) {
    await until(() => record()?.admitted === true, `${path} runs`);
  }
  sim.configure({ firstTokenDelayMs: 0 });
  return {
    leave: async () => {
      controller.abort();
      await done;
      await record()?.finished;
    },
  };
}

/** `{le: count}` of a histogram of `values` over `bounds`, as Prometheus counts and spells. */
function buckets(bounds: readonly number[], values: readonly number[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const bound of bounds) {
    counts.set(formatBucketBound(bound), values.filter((value) => value <= bound).length);
  }
  counts.set("+Inf", values.length);
  return counts;
}

function assertBuckets(
  h: ExporterHarness,
  samples: Map<string, number>,
  name: string,
  labels: Record<string, string>,
  expected: Map<string, number>,
): void {
  for (const [le, count] of expected) {
    assert.equal(
      h.valueIn(samples, `${name}_bucket`, { ...labels, le }),
      count,
      `${name} le=${le}`,
    );
  }
}

Deno.test("queue wait: Ollama's total less its parts, exact to the nanosecond, from the simulator's known waits; the waiting gauge while held", async () => {
  let now = 1_764_000_000_000;
  await withHarness({
    simulator: { numParallel: 1, now: () => now },
    env: { OLLAMA_NUM_PARALLEL: "1" },
  }, async (h) => {
    const sim = h.simulator;
    const prompt = "one two three";
    const generate = { model: "llama3.2", prompt, stream: false, options: { num_predict: 3 } };
    const chat = {
      model: "llama3.2",
      messages: [{ role: "user", content: prompt }],
      options: { num_predict: 4 },
    };
    assert.equal((await send(h, "/api/generate", generate)).status, 200);
    const a = await hold(h, "/api/generate", { model: "llama3.2", prompt: "held" });
    // B arrives at T0, C and D 300 ms later; A holds the only slot.
    const b = send(h, "/api/generate", generate);
    await until(() => sim.waitingRequests === 1, "B waits");
    now += 300;
    const c = send(h, "/api/chat", chat);
    const d = send(h, "/v1/chat/completions", {
      model: "llama3.2",
      messages: [{ role: "user", content: prompt }],
      max_tokens: 2,
    });
    await until(() => sim.waitingRequests === 3, "C and D wait");
    const waiting = await h.scrape();
    assert.equal(h.valueIn(waiting, "ollama_requests_waiting", { model: MODEL }), 3);
    assert.equal(h.valueIn(waiting, "ollama_queue_wait_seconds_count", { model: MODEL }), 1);
    now += 1700;
    await a.leave();
    for (const answer of await Promise.all([b, c, d])) assert.equal(answer.status, 200);
    await h.settle();

    const records = sim.requests.filter((r) => r.method === "POST");
    assert.deepEqual(records.map((r) => [r.path, r.slotWaitNs]), [
      ["/api/generate", 0],
      ["/api/generate", 0],
      ["/api/generate", 2_000_000_000],
      ["/api/chat", 1_700_000_000],
      ["/v1/chat/completions", 1_700_000_000],
    ]);
    // total - (load + prompt_eval + eval) = overheadNs + the slot wait; the held request never
    // answered and the OpenAI answer carries no durations.
    const overhead = DEFAULT_TIMINGS.overheadNs;
    const waitsNs = [overhead, overhead + 2_000_000_000, overhead + 1_700_000_000];
    const samples = await h.scrape();
    assert.equal(h.valueIn(samples, "ollama_queue_wait_seconds_count", { model: MODEL }), 3);
    assert.equal(h.valueIn(samples, "ollama_queue_wait_seconds_sum", { model: MODEL }), 3.703);
    assert.equal(waitsNs.reduce((sum, ns) => sum + ns, 0), 3_703_000_000);
    assertBuckets(
      h,
      samples,
      "ollama_queue_wait_seconds",
      { model: MODEL },
      buckets(QUEUE_WAIT_BUCKETS, waitsNs.map((ns) => ns / 1e9)),
    );
    assert.equal(
      h.valueIn(samples, "ollama_queue_wait_seconds_bucket", { model: MODEL, le: "1.0" }),
      1,
      "only the unqueued request waited under a second",
    );
    // Ollama's total_duration carries the waits too, load_duration does not.
    const base = (body: typeof generate | typeof chat, path: GenerationPath) =>
      sim.expectedReply(path, body).completion.metrics;
    assert.equal(
      h.valueIn(samples, "ollama_total_duration_seconds_sum", { model: MODEL }),
      (2 * base(generate, "/api/generate").total_duration +
        base(chat, "/api/chat").total_duration + 3_700_000_000) / 1e9,
    );
    assert.equal(
      h.valueIn(samples, "ollama_load_duration_seconds_sum", { model: MODEL }),
      3 * DEFAULT_TIMINGS.loadNs / 1e9,
    );
    assert.equal(h.valueIn(samples, "ollama_requests_waiting", { model: MODEL }), 0);
  });
});

Deno.test("requests waiting: in flight beyond OLLAMA_NUM_PARALLEL per model, every family; absent without it", async () => {
  await withHarness({
    simulator: { numParallel: 2 },
    env: { OLLAMA_NUM_PARALLEL: "2" },
  }, async (h) => {
    const sim = h.simulator;
    for (const model of ["llama3.2", "qwen2.5:0.5b"]) {
      await send(h, "/api/generate", { model, prompt: "x", stream: false });
    }
    const messages = [{ role: "user", content: "x" }];
    const held = [
      await hold(h, "/api/chat", { model: "llama3.2", messages }),
      await hold(h, "/v1/messages", { model: "llama3.2", max_tokens: 3, messages }),
      await hold(h, "/api/generate", { model: "qwen2.5:0.5b", prompt: "x" }),
    ];
    let samples = await h.scrape();
    assert.equal(h.valueIn(samples, "ollama_requests_waiting", { model: MODEL }), 0);
    assert.equal(h.valueIn(samples, "ollama_requests_waiting", { model: QWEN }), 0);
    const third = await hold(h, "/v1/responses", {
      model: "llama3.2",
      input: "x",
      max_output_tokens: 3,
    }, { admitted: false });
    const fourth = send(h, "/v1/completions", { model: "llama3.2", prompt: "x", max_tokens: 2 });
    await until(() => sim.waitingRequests === 2, "two requests wait");
    samples = await h.scrape();
    assert.equal(h.valueIn(samples, "ollama_requests_waiting", { model: MODEL }), 2);
    assert.equal(h.valueIn(samples, "ollama_requests_waiting", { model: QWEN }), 0);
    // The third's client leaves while it waits: one fewer waiting.
    await third.leave();
    await until(
      async () => await h.value("ollama_requests_waiting", { model: MODEL }) === 1,
      "the gauge drops to 1",
    );
    for (const request of held) await request.leave();
    assert.equal((await fourth).status, 200);
    await h.settle();
    assert.equal(await h.value("ollama_requests_waiting", { model: MODEL }), 0);
  });
  await withHarness({ simulator: { numParallel: 1 } }, async (h) => {
    await send(h, "/api/generate", { model: "llama3.2", prompt: "x", stream: false });
    const text = await (await fetch(`${h.url}/metrics`)).text();
    assert.ok(!text.includes("ollama_requests_waiting"), "no gauge without OLLAMA_NUM_PARALLEL");
  });
});

Deno.test("server_busy: Ollama's full queue on every family, by client; the requests it let through are fine", async () => {
  await withHarness({
    simulator: { numParallel: 1, maxQueue: 1 },
    env: { CLIENT_HEADER: "X-Client-Name" },
  }, async (h) => {
    const sim = h.simulator;
    const team = { "x-client-name": "team-a" };
    // Both models become label values; qwen2.5 is unloaded again (keep_alive 0).
    await send(h, "/api/generate", { model: "llama3.2", prompt: "x", stream: false });
    await send(h, "/api/generate", {
      model: "qwen2.5:0.5b",
      prompt: "x",
      stream: false,
      keep_alive: 0,
    });
    const running = await hold(h, "/api/generate", { model: "llama3.2", prompt: "a" });
    // A reload for another num_ctx: the scheduler waits for the running request, B queues.
    const reload = { model: "llama3.2", prompt: "b", stream: false, options: { num_ctx: 64 } };
    const a = send(h, "/api/generate", reload, team);
    await until(() => sim.schedulerBusy, "the scheduler took the reload up");
    const b = send(h, "/api/generate", reload, team);
    await until(() => sim.pendingRequests === 1, "B fills the queue");
    const messages = [{ role: "user", content: "x" }];
    const refused: [string, string, unknown][] = [
      ["/api/generate", MODEL, { model: "llama3.2", prompt: "x", options: { num_ctx: 128 } }],
      ["/api/chat", MODEL, { model: "llama3.2", messages, options: { num_ctx: 128 } }],
      ["/v1/chat/completions", QWEN, { model: "qwen2.5:0.5b", messages, stream: true }],
      ["/v1/completions", QWEN, { model: "qwen2.5:0.5b", prompt: "x" }],
      ["/v1/messages", QWEN, { model: "qwen2.5:0.5b", messages, max_tokens: 3, stream: true }],
      ["/v1/responses", QWEN, { model: "qwen2.5:0.5b", input: "x", stream: true }],
    ];
    for (const [path, , body] of refused) {
      const answer = await send(h, path, body, team);
      assert.equal(answer.status, 503, path);
      assert.ok(answer.text.includes(SERVER_BUSY_MESSAGE), `${path}: ${answer.text}`);
    }
    // One more without a client name.
    assert.equal((await send(h, "/api/generate", refused[0]![2])).status, 503);
    await running.leave();
    for (const answer of await Promise.all([a, b])) assert.equal(answer.status, 200);
    await h.settle();
    const samples = await h.scrape();
    for (const [path, model] of refused) {
      // The two reloads it let through answered /api/generate for team-a too.
      const answered = path === "/api/generate" ? 3 : 1;
      const labels = { model, endpoint: path, reason: "server_busy", client: "team-a" };
      assert.equal(
        h.valueIn(samples, "ollama_request_errors_total", labels),
        1,
        `server_busy ${path}`,
      );
      const codes = { model, endpoint: path, code: "503", client: "team-a" };
      assert.equal(h.valueIn(samples, "ollama_requests_total", codes), 1, `503 ${path}`);
      assert.equal(
        h.valueIn(samples, "ollama_response_seconds_count", {
          model,
          endpoint: path,
          client: "team-a",
        }),
        answered,
        `response time of ${path}`,
      );
    }
    const anonymous = {
      model: MODEL,
      endpoint: "/api/generate",
      reason: "server_busy",
      client: "",
    };
    assert.equal(h.valueIn(samples, "ollama_request_errors_total", anonymous), 1);
    const busy = [...samples].filter(([key]) =>
      key.startsWith("ollama_request_errors_total{") && key.includes('reason="server_busy"')
    );
    assert.equal(busy.reduce((sum, [, value]) => sum + value, 0), 7);
    assert.equal(
      [...samples].some(([key]) => key.includes('reason="upstream_error"')),
      false,
      "no 503 counted as upstream_error",
    );
    const ok = { model: MODEL, endpoint: "/api/generate", code: "200", client: "team-a" };
    assert.equal(h.valueIn(samples, "ollama_requests_total", ok), 2);
  });
});

Deno.test("inter-token latency: one observation per gap between output chunks, on every family", async () => {
  await withHarness({
    simulator: { tokenDelayMs: 30, models: [MODEL, QWEN, THINKER, EMBED] },
  }, async (h) => {
    const messages = [{ role: "user", content: "Name three colours" }];
    const requests: [GenerationPath, unknown][] = [
      ["/api/generate", { model: "llama3.2", prompt: "x", options: { num_predict: 5 } }],
      ["/api/generate", { model: "llama3.2", prompt: "y", options: { num_predict: 2 } }],
      ["/api/chat", { model: "qwen3:0.6b", messages, options: { num_predict: 9 } }],
      ["/v1/chat/completions", { model: "llama3.2", messages, max_tokens: 4, stream: true }],
      ["/v1/completions", { model: "llama3.2", prompt: "x", max_tokens: 3, stream: true }],
      ["/v1/messages", { model: "qwen3:0.6b", messages, max_tokens: 7, stream: true }],
      ["/v1/responses", { model: "llama3.2", input: "x", max_output_tokens: 6, stream: true }],
      // Not streamed: no gaps.
      ["/api/generate", { model: "llama3.2", prompt: "z", stream: false }],
      ["/v1/chat/completions", { model: "llama3.2", messages, max_tokens: 4 }],
    ];
    const gaps = new Map<string, number>();
    const streams = new Map<string, number>();
    for (const [path, body] of requests) {
      const expected = h.simulator.expectedReply(path, body);
      const key = `${(body as { model: string }).model}|${path}`;
      if (expected.outputChunks > 0) {
        gaps.set(key, (gaps.get(key) ?? 0) + expected.outputChunks - 1);
        streams.set(key, (streams.get(key) ?? 0) + 1);
      }
      assert.equal((await send(h, path, body)).status, 200, path);
    }
    await h.settle();
    const samples = await h.scrape();
    assert.deepEqual(
      [...gaps].map(([key, count]) => [key, count]),
      [
        ["llama3.2|/api/generate", 4 + 1],
        ["qwen3:0.6b|/api/chat", 7],
        ["llama3.2|/v1/chat/completions", 3],
        ["llama3.2|/v1/completions", 2],
        ["qwen3:0.6b|/v1/messages", 5],
        ["llama3.2|/v1/responses", 5],
      ],
      "the expected gaps: chunks - 1 per stream, thinking chunks included",
    );
    for (const [key, count] of gaps) {
      const [name, endpoint] = key.split("|") as [string, string];
      const model = name === "llama3.2" ? MODEL : name;
      const labels = { model, endpoint };
      assert.equal(
        h.valueIn(samples, "ollama_inter_token_latency_seconds_count", labels),
        count,
        key,
      );
      // Every gap is at least tokenDelayMs (30 ms): none under 10 ms.
      assert.equal(
        h.valueIn(samples, "ollama_inter_token_latency_seconds_bucket", { ...labels, le: "0.01" }),
        0,
        key,
      );
      assert.equal(
        h.valueIn(samples, "ollama_time_per_output_token_seconds_count", labels),
        streams.get(key),
        key,
      );
    }
    const families = [...samples].filter(([key]) =>
      key.startsWith("ollama_inter_token_latency_seconds_count{")
    );
    assert.equal(families.length, gaps.size, "no other series");
  });
});

Deno.test("context usage: (prompt + output) / the context length /api/ps reports, reloads followed; the limit reached", async () => {
  await withHarness({ simulator: {} }, async (h) => {
    const words = (count: number) => Array.from({ length: count }, () => "word").join(" ");
    const count = async (model: string) =>
      await h.value("ollama_context_usage_ratio_count", { model }) ?? 0;
    const generate = async (
      path: GenerationPath,
      body: Record<string, unknown>,
      ratio: number,
    ) => {
      const model = body["model"] === "llama3.2" ? MODEL : String(body["model"]);
      const before = await count(model);
      const expected = h.simulator.expectedReply(path, body);
      assert.equal(
        (expected.inputTokens + expected.outputTokens) / expected.completion.contextLength,
        ratio,
        `${path} ${JSON.stringify(body).slice(0, 80)}`,
      );
      assert.equal((await send(h, path, body)).status, 200);
      // Measured against /api/ps after the answer began: it may land after the request ends.
      await until(async () => await count(model) === before + 1, "the ratio is recorded");
    };
    // Ollama's default context: 4096. 13 prompt + 3 output tokens.
    await generate("/api/generate", {
      model: "llama3.2",
      prompt: "one two three",
      stream: false,
      options: { num_predict: 3 },
    }, 16 / 4096);
    // Reloaded with num_ctx 32: 16 of 32.
    await generate("/api/generate", {
      model: "llama3.2",
      prompt: "one two three",
      stream: false,
      options: { num_predict: 3, num_ctx: 32 },
    }, 0.5);
    // The OpenAI API cannot set num_ctx: reloaded with 4096 again; 17 + 3 tokens.
    await generate("/v1/chat/completions", {
      model: "llama3.2",
      messages: [{ role: "user", content: "a b c" }],
      max_tokens: 3,
    }, 20 / 4096);
    // num_ctx 64: a 110-token prompt is truncated to 64, plus 8 output tokens: 1.125.
    await generate("/api/generate", {
      model: "qwen2.5:0.5b",
      prompt: words(100),
      stream: false,
      options: { num_predict: 8, num_ctx: 64 },
    }, 1.125);
    // Exactly full: 56 + 8 = 64.
    await generate("/api/chat", {
      model: "qwen2.5:0.5b",
      messages: [{ role: "user", content: words(42) }],
      stream: true,
      options: { num_predict: 8, num_ctx: 64 },
    }, 1);
    // 32 + 8 of 64.
    await generate("/api/generate", {
      model: "qwen2.5:0.5b",
      prompt: words(22),
      options: { num_predict: 8, num_ctx: 64 },
    }, 0.625);
    // Embeddings use no generation context.
    assert.equal(
      (await send(h, "/api/embed", { model: "nomic-embed-text", input: "x" })).status,
      200,
    );
    await h.settle();
    const samples = await h.scrape();
    const ratio = "ollama_context_usage_ratio";
    assert.equal(h.valueIn(samples, `${ratio}_sum`, { model: MODEL }), 0.5087890625);
    assert.equal(h.valueIn(samples, `${ratio}_count`, { model: MODEL }), 3);
    assert.equal(h.valueIn(samples, `${ratio}_sum`, { model: QWEN }), 2.75);
    const bounds = CONTEXT_USAGE_BUCKETS;
    assertBuckets(
      h,
      samples,
      ratio,
      { model: MODEL },
      buckets(bounds, [16 / 4096, 0.5, 20 / 4096]),
    );
    assertBuckets(h, samples, ratio, { model: QWEN }, buckets(bounds, [1.125, 1, 0.625]));
    assert.equal(h.valueIn(samples, "ollama_context_limit_reached_total", { model: QWEN }), 2);
    assert.equal(
      h.valueIn(samples, "ollama_context_limit_reached_total", { model: MODEL }),
      undefined,
    );
    assert.equal(h.valueIn(samples, `${ratio}_count`, { model: EMBED }), undefined);
    assert.equal(h.valueIn(samples, "ollama_model_context_length", { model: QWEN }), 64);
  });
});

/** Reads `response` until `chunks` output chunks went by (`isOutput` per line), then leaves. */
async function readThenLeave(
  response: Response,
  options: { chunks: number; isOutput: (line: string) => boolean },
): Promise<void> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let seen = 0;
  while (seen < options.chunks) {
    const { value, done } = await reader.read();
    if (done) assert.fail(`the stream ended after ${seen} output chunks`);
    buffer += value;
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    seen += lines.filter(options.isOutput).length;
  }
  assert.equal(seen, options.chunks, "the pause holds the next chunk back");
  await reader.cancel();
}

Deno.test("discarded output chunks: a client that leaves mid-stream counts the chunks the exporter saw", async () => {
  await withHarness({
    simulator: {
      models: [MODEL, THINKER],
      pauseMidStream: { afterChunks: 3, delayMs: 60_000 },
    },
  }, async (h) => {
    const messages = [{ role: "user", content: "x" }];
    const streams: [string, string, unknown, (line: string) => boolean][] = [
      ["/api/generate", MODEL, { model: "llama3.2", prompt: "x" }, (l) => l.startsWith("{")],
      ["/api/chat", THINKER, { model: "qwen3:0.6b", messages }, (l) => l.startsWith("{")],
      [
        "/v1/chat/completions",
        MODEL,
        { model: "llama3.2", messages, stream: true },
        (l) => l.startsWith("data: {"),
      ],
      [
        "/v1/messages",
        THINKER,
        { model: "qwen3:0.6b", messages, max_tokens: 20, stream: true },
        (l) => l.startsWith("data: ") && l.includes('"content_block_delta"'),
      ],
      [
        "/v1/responses",
        MODEL,
        { model: "llama3.2", input: "x", stream: true },
        (l) => l.startsWith("data: ") && l.includes('"response.output_text.delta"'),
      ],
    ];
    for (const [path, , body, isOutput] of streams) {
      const response = await fetch(`${h.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 200, path);
      await readThenLeave(response, { chunks: 3, isOutput });
    }
    await until(
      () => h.simulator.requests.every((r) => r.method !== "POST" || r.aborted),
      "the simulator saw every client leave",
    );
    await h.settle();
    const samples = await h.scrape();
    assert.equal(h.valueIn(samples, "ollama_discarded_output_chunks_total", { model: MODEL }), 9);
    assert.equal(h.valueIn(samples, "ollama_discarded_output_chunks_total", { model: THINKER }), 6);
    for (const [path, model] of streams) {
      const labels = { model, endpoint: path, reason: "client_disconnect" };
      assert.equal(h.valueIn(samples, "ollama_request_errors_total", labels), 1, path);
      assert.equal(
        h.valueIn(samples, "ollama_inter_token_latency_seconds_count", { model, endpoint: path }),
        2,
        `${path}: 3 chunks, 2 gaps`,
      );
    }
    // A stream read to its end discards nothing.
    h.simulator.configure({ pauseMidStream: false });
    assert.equal((await send(h, "/api/generate", { model: "llama3.2", prompt: "y" })).status, 200);
    await h.settle();
    assert.equal(await h.value("ollama_discarded_output_chunks_total", { model: MODEL }), 9);
  });
});

Deno.test("client label on errors and response time, from CLIENT_HEADER", async () => {
  await withHarness({ env: { CLIENT_HEADER: "X-Client-Name" } }, async (h) => {
    const teamB = { "x-client-name": "team-b" };
    await send(h, "/api/generate", { model: "llama3.2", prompt: "x", stream: false }, teamB);
    await send(h, "/api/generate", { model: "llama3.2", prompt: "x", stream: false });
    const missing = await send(h, "/api/chat", {
      model: "llama3.2",
      messages: [{ role: "user", content: "x" }],
      think: true,
    }, teamB);
    assert.equal(missing.status, 400);
    await h.settle();
    const samples = await h.scrape();
    const seconds = "ollama_response_seconds_count";
    const generate = { model: MODEL, endpoint: "/api/generate" };
    assert.equal(h.valueIn(samples, seconds, { ...generate, client: "team-b" }), 1);
    assert.equal(h.valueIn(samples, seconds, { ...generate, client: "" }), 1);
    assert.equal(
      h.valueIn(samples, seconds, { model: MODEL, endpoint: "/api/chat", client: "team-b" }),
      1,
    );
    assert.equal(
      h.valueIn(samples, "ollama_request_errors_total", {
        model: MODEL,
        endpoint: "/api/chat",
        reason: "upstream_error",
        client: "team-b",
      }),
      1,
    );
    const errors = [...samples].filter(([key]) => key.startsWith("ollama_request_errors_total{"));
    assert.deepEqual(errors.map(([, value]) => value), [1], "one error series");
  });
});
