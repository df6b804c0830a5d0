/**
 * The saturation signals of issue #12, each asserted against a REAL Ollama (v0.24.0, the shared
 * `../shared/real-ollama`) started with the settings under test (`OLLAMA_NUM_PARALLEL=1`, and
 * `OLLAMA_MAX_QUEUE=1` for a full queue): client → exporter (in-process) → recording hop → Ollama.
 * The hop records the exact bytes Ollama sent for each request, and every expected number is
 * computed from those bytes (and from `/api/ps`), not from the exporter's code:
 *
 * - `ollama_queue_wait_seconds`: Ollama's `total_duration` includes the wait for a parallel slot,
 *   its load, prompt and eval durations do not; the sum is exact to the nanosecond;
 * - `ollama_requests_waiting`: requests in flight beyond the one slot, which Ollama has not begun
 *   to answer;
 * - `ollama_discarded_output_chunks_total`: a client that leaves mid-stream;
 * - `reason="server_busy"`: Ollama's 503 when its queue is full (a burst while the model loads);
 * - `ollama_context_usage_ratio` and `ollama_context_limit_reached_total`: a prompt longer than a
 *   small `num_ctx`, which Ollama truncates to the context length; a model reloaded with another
 *   context; a model's first generation just after a scrape that found it unloaded;
 * - `ollama_inter_token_latency_seconds`: one gap per pair of consecutive output chunks
 *   (`notes/spec_11.md`), on every API family.
 *
 * Each test starts its own server (the settings under test are the server's own) and stops it;
 * timing checks compare Ollama's own durations, never wall-clock limits. Without the shared
 * folder the file is skipped with one line. Every generation is capped.
 */
import assert from "node:assert/strict";
import { ExporterHarness } from "./support/exporter_harness.ts";
import { sample } from "./support/exposition.ts";
import {
  EXCHANGE_ID_HEADER,
  type RecordedExchange,
  RecordingHop,
} from "./support/recording_hop.ts";
import {
  REAL_OLLAMA_START_ABSENT,
  type RealOllama,
  withRealOllama,
} from "./support/real_ollama_env.ts";
import { readWire, type WireFacts } from "./support/wire_reference.ts";

if (REAL_OLLAMA_START_ABSENT !== null) console.log(REAL_OLLAMA_START_ABSENT);
const ignore = REAL_OLLAMA_START_ABSENT !== null;

const MODEL = "tiny";
const LABEL = "tiny:latest";
const THINK = "tiny-think";
const THINK_LABEL = "tiny-think:latest";
const GENERATE = "/api/generate";
const PROMPT = "Why is the sky blue?";
/** Greedy decoding: the same answer every run. */
const GREEDY = { temperature: 0, seed: 42 };
/** Ollama v0.24.0's answer to a request its full queue refuses (`OLLAMA_MAX_QUEUE`). */
const SERVER_BUSY = '{"error":"server busy, please try again.  maximum pending requests exceeded"}';
/** One parallel slot per model. */
const ONE_SLOT = { OLLAMA_NUM_PARALLEL: "1" };

const decoder = new TextDecoder();

// --- the rig: client → exporter → hop → Ollama --------------------------------------------------

/** One exporter in front of a recording hop in front of a real Ollama. */
interface Rig {
  readonly ollama: RealOllama;
  readonly hop: RecordingHop;
  readonly harness: ExporterHarness;
}

/**
 * Runs `body` with a real Ollama started with `env.ollama`, a recording hop in front of it and an
 * exporter configured with `env.exporter` in front of the hop; stops all three afterwards.
 */
function withRig(
  env: { ollama: Record<string, string>; exporter?: Record<string, string> },
  body: (rig: Rig) => Promise<void>,
): Promise<void> {
  return withRealOllama(env.ollama, async (ollama) => {
    const hop = RecordingHop.start(ollama.url);
    try {
      const harness = await ExporterHarness.start({ upstream: hop.url, env: env.exporter ?? {} });
      try {
        await body({ ollama, hop, harness });
      } finally {
        await harness.close();
      }
    } finally {
      await hop.close();
    }
  });
}

let nextId = 0;
const idPrefix = crypto.randomUUID().slice(0, 8);

/** A fresh exchange id for the hop. */
function newId(): string {
  return `${idPrefix}-${nextId++}`;
}

/** Sends `body` as JSON through the exporter, tagged with exchange `id`. */
function post(rig: Rig, path: string, body: unknown, id: string): Promise<Response> {
  return fetch(rig.harness.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", [EXCHANGE_ID_HEADER]: id },
    body: JSON.stringify(body),
  });
}

/** What a client got: status, content type and body bytes. */
interface Answer {
  readonly id: string;
  readonly status: number;
  readonly contentType: string | null;
  readonly body: Uint8Array;
}

/** Sends `body` through the exporter and reads the whole answer. */
async function call(rig: Rig, path: string, body: unknown, id = newId()): Promise<Answer> {
  const response = await post(rig, path, body, id);
  const contentType = response.headers.get("content-type");
  return { id, status: response.status, contentType, body: await response.bytes() };
}

/**
 * Loads the model, then streams a generation of `numPredict` tokens through the exporter and reads
 * until `outputs` output chunks came: the one slot is taken, by a client that pauses.
 */
async function takeSlot(
  rig: Rig,
  numPredict: number,
  outputs: number,
): Promise<{ id: string; stream: StreamClient }> {
  await load(rig.ollama, MODEL);
  const id = newId();
  const stream = new StreamClient(
    GENERATE,
    await post(rig, GENERATE, {
      model: MODEL,
      prompt: PROMPT,
      options: { num_predict: numPredict, ...GREEDY },
    }, id),
  );
  await stream.readOutput(outputs);
  return { id, stream };
}

/** A request straight to Ollama, bypassing the exporter: the parsed JSON answer. */
async function direct(ollama: RealOllama, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(ollama.url + path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${path}: ${text}`);
  return JSON.parse(text);
}

/** Loads `model` into Ollama (an empty prompt only loads it), unseen by the exporter. */
async function load(ollama: RealOllama, model: string): Promise<void> {
  const answer = await direct(ollama, GENERATE, { model }) as { done_reason?: string };
  assert.equal(answer.done_reason, "load");
}

/** A streamed response read by the test at its own pace. */
class StreamClient {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #path: string;
  /** The bytes received so far. */
  received: Uint8Array = new Uint8Array(0);

  constructor(path: string, response: Response) {
    assert.equal(response.status, 200);
    this.#path = path;
    this.#reader = response.body!.getReader();
  }

  /** Output chunks among the complete lines received so far (`notes/spec_11.md`). */
  get outputChunks(): number {
    return readWire({
      target: this.#path,
      status: 200,
      contentType: "application/x-ndjson",
      body: completeLines(this.received),
    }).outputChunks;
  }

  /** Reads one more piece; `false` at the end of the body. */
  async read(): Promise<boolean> {
    const { done, value } = await this.#reader.read();
    if (done) return false;
    this.received = concat(this.received, value);
    return true;
  }

  /** Reads until `outputChunks` reaches `count`; the stream must not end before. */
  async readOutput(count: number): Promise<void> {
    while (this.outputChunks < count) assert.ok(await this.read(), "output before the end");
  }

  /** Reads to the end of the body. */
  async readAll(): Promise<void> {
    while (await this.read()) { /* reading */ }
  }

  /** Leaves: cancels the body. */
  async leave(): Promise<void> {
    await this.#reader.cancel();
  }
}

// --- readings of what Ollama sent ---------------------------------------------------------------

/** The reference reading of what Ollama sent for `exchange` (a stream's complete lines only). */
function facts(exchange: RecordedExchange): WireFacts {
  const contentType = exchange.responseHeaders.get("content-type");
  const stream = /x-ndjson|event-stream/.test(contentType ?? "");
  return readWire({
    target: exchange.target,
    status: exchange.status,
    contentType,
    body: stream ? completeLines(exchange.body()) : exchange.body(),
  });
}

/** Ollama's durations of one native answer, in nanoseconds, and the queue wait they imply. */
interface Durations {
  readonly total: number;
  readonly load: number;
  readonly promptEval: number;
  readonly eval: number;
  /** max(0, total − load − prompt eval − eval). */
  readonly wait: number;
}

/** Ollama's durations of a native answer (all four must be there). */
function durations(exchange: RecordedExchange): Durations {
  const { total, load, promptEval, eval: evaluation } = facts(exchange).durations;
  assert.ok(total !== null && load !== null && promptEval !== null && evaluation !== null);
  const wait = Math.max(0, total - load - promptEval - evaluation);
  return { total, load, promptEval, eval: evaluation, wait };
}

/** The final object of a native answer (its last line), parsed. */
function finalRecord(exchange: RecordedExchange): Record<string, unknown> {
  const lines = decoder.decode(exchange.body()).split("\n").filter((line) => line !== "");
  const record = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  assert.equal(record.done, true, "a final object");
  return record;
}

/** When Ollama finished an answer: its final `created_at`, in nanoseconds since the epoch. */
function finishedAtNs(exchange: RecordedExchange): bigint {
  const text = String(finalRecord(exchange).created_at);
  const match = /^(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(text);
  assert.ok(match !== null, `created_at ${text}`);
  const seconds = BigInt(Date.parse(`${match[1]}Z`)) / 1000n;
  return seconds * 1_000_000_000n + BigInt((match[2] ?? "").padEnd(9, "0"));
}

/** The answers of `ids`, in the order Ollama finished them, with their durations. */
async function inServedOrder(
  rig: Rig,
  ids: readonly string[],
): Promise<(Durations & { id: string })[]> {
  const exchanges = await Promise.all(ids.map((id) => rig.hop.exchange(id)));
  return exchanges
    .map((exchange) => ({ exchange, end: finishedAtNs(exchange) }))
    .sort((a, b) => (a.end < b.end ? -1 : a.end > b.end ? 1 : 0))
    .map(({ exchange }) => ({ id: exchange.id!, ...durations(exchange) }));
}

/** Durations in milliseconds, for the log. */
function milliseconds(d: Durations): Record<string, number> {
  return {
    total: d.total / 1e6,
    load: d.load / 1e6,
    promptEval: d.promptEval / 1e6,
    eval: d.eval / 1e6,
    wait: d.wait / 1e6,
  };
}

// --- scraping -------------------------------------------------------------------------------------

/** A series' value in `samples`, 0 when absent. */
function valueOf(
  samples: Map<string, number>,
  name: string,
  labels: Record<string, string>,
): number {
  return sample(samples, name, labels) ?? 0;
}

/** Scrapes until `probe` returns a value (at most 10 s): the scrape and that value. */
async function scrapeUntil<T>(
  rig: Rig,
  what: string,
  probe: (samples: Map<string, number>) => T | undefined,
): Promise<{ samples: Map<string, number>; found: T }> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const samples = await rig.harness.scrape();
    const found = probe(samples);
    if (found !== undefined) return { samples, found };
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// --- the tests ------------------------------------------------------------------------------------

Deno.test({
  name: "real Ollama saturation: queue wait is total_duration less load, prompt and eval, " +
    "to the nanosecond; the requests behind the one slot waited",
  ignore,
  fn: () => withRig({ ollama: ONE_SLOT }, queueWait),
});

async function queueWait(rig: Rig): Promise<void> {
  // The first request takes the one slot; two more are sent once it streams output.
  const { id: first, stream } = await takeSlot(rig, 64, 1);
  const later = [newId(), newId()];
  const answers = later.map((id, i) =>
    call(rig, GENERATE, {
      model: MODEL,
      prompt: PROMPT,
      stream: i === 0, // one stream, one JSON object
      options: { num_predict: 8, ...GREEDY },
    }, id)
  );
  await stream.readAll();
  for (const answer of await Promise.all(answers)) assert.equal(answer.status, 200);
  await rig.harness.settle();

  const served = await inServedOrder(rig, [first, ...later]);
  console.log("in the order served (ms):", served.map(milliseconds));
  assert.equal(served[0]!.id, first, "the first request was served first");
  // With one slot, the last one's prompt evaluation began after the second one's eval ended: its
  // total_duration holds the second one's whole prompt and eval (and the rest of the first).
  const [, second, last] = served;
  assert.ok(
    last!.wait > second!.promptEval + second!.eval,
    `the last one waited ${last!.wait} ns, more than the second one's prompt and eval ` +
      `(${second!.promptEval + second!.eval} ns)`,
  );
  assert.ok(second!.wait > served[0]!.wait, "the second one waited longer than the first");

  const samples = await rig.harness.scrape();
  const labels = { model: LABEL };
  const waitNs = served.reduce((sum, s) => sum + s.wait, 0);
  assert.equal(valueOf(samples, "ollama_queue_wait_seconds_sum", labels), waitNs / 1e9);
  assert.equal(valueOf(samples, "ollama_queue_wait_seconds_count", labels), 3);
  const totalNs = served.reduce((sum, s) => sum + s.total, 0);
  assert.equal(valueOf(samples, "ollama_total_duration_seconds_sum", labels), totalNs / 1e9);
  // Without OLLAMA_NUM_PARALLEL on the exporter there is no waiting gauge.
  assert.equal(sample(samples, "ollama_requests_waiting", labels), undefined);
}

Deno.test({
  name: "real Ollama saturation: requests behind a held stream are waiting (gauge 2, then 0); " +
    "its client leaves mid-stream: discarded output chunks",
  ignore,
  fn: () => withRig({ ollama: ONE_SLOT, exporter: ONE_SLOT }, heldStream),
});

async function heldStream(rig: Rig): Promise<void> {
  const { id: held, stream } = await takeSlot(rig, 300, 3);
  // Two more for the one slot while the held stream has it (its client pauses).
  const waiting = [newId(), newId()];
  const answers = waiting.map((id) =>
    call(rig, GENERATE, {
      model: MODEL,
      prompt: PROMPT,
      options: { num_predict: 4, ...GREEDY },
    }, id)
  );
  const { samples: busy } = await scrapeUntil(
    rig,
    "three requests in flight",
    (samples) =>
      valueOf(samples, "ollama_requests_in_flight", { model: LABEL, endpoint: GENERATE }) === 3
        ? true
        : undefined,
  );
  // Ollama had not begun to answer them: no answer of theirs had reached the hop.
  assert.deepEqual(
    rig.hop.exchanges.filter((exchange) => waiting.includes(exchange.id ?? "")).map((e) => e.id),
    [],
    "both still waiting in Ollama at the scrape",
  );
  // In flight beyond the one slot: 3 − 1.
  assert.equal(sample(busy, "ollama_requests_waiting", { model: LABEL }), 2);

  // The held stream's client reads a little more, then leaves.
  assert.ok(await stream.read());
  const clientChunks = stream.outputChunks;
  await stream.leave();
  const cut = await rig.hop.exchange(held);
  assert.equal(await cut.finished, "cancelled", "the exporter let go of Ollama's stream");
  const relayedChunks = facts(cut).outputChunks;

  for (const answer of await Promise.all(answers)) {
    assert.equal(answer.status, 200, decoder.decode(answer.body));
  }
  await rig.harness.settle();
  const samples = await rig.harness.scrape();
  assert.equal(sample(samples, "ollama_requests_waiting", { model: LABEL }), 0);
  assert.equal(
    valueOf(samples, "ollama_request_errors_total", {
      model: LABEL,
      endpoint: GENERATE,
      reason: "client_disconnect",
    }),
    1,
  );
  const discarded = valueOf(samples, "ollama_discarded_output_chunks_total", { model: LABEL });
  console.log(
    `the client read ${clientChunks} output chunks and left; the exporter counts ${discarded} ` +
      `discarded; Ollama had sent ${relayedChunks} (${cut.chunks.length} reads) by the cut`,
  );
  assert.ok(
    clientChunks <= discarded && discarded <= relayedChunks,
    `${clientChunks} <= ${discarded} <= ${relayedChunks}`,
  );
  assert.ok(!finalRecordSeen(cut), "the held stream was cut before its end");

  // The two that waited report it; the held one sent no final object, so no queue wait of its
  // own. Served one after the other, the second waited for the first one's prompt and eval.
  const served = await inServedOrder(rig, waiting);
  console.log("behind the held stream, in the order served (ms):", served.map(milliseconds));
  assert.ok(served[0]!.wait > 0);
  assert.ok(served[1]!.wait > served[0]!.promptEval + served[0]!.eval);
  assert.equal(
    valueOf(samples, "ollama_queue_wait_seconds_sum", { model: LABEL }),
    (served[0]!.wait + served[1]!.wait) / 1e9,
  );
  assert.equal(valueOf(samples, "ollama_queue_wait_seconds_count", { model: LABEL }), 2);
}

/** Whether a native stream's final object (`"done":true`) is among its bytes. */
function finalRecordSeen(exchange: RecordedExchange): boolean {
  return decoder.decode(exchange.body()).includes('"done":true');
}

Deno.test({
  name: "real Ollama saturation: a burst while the model loads meets Ollama's full queue: " +
    "server_busy counts every 503, whose body reaches the client unchanged",
  ignore,
  fn: () => withRig({ ollama: { ...ONE_SLOT, OLLAMA_MAX_QUEUE: "1" } }, fullQueue),
});

async function fullQueue(rig: Rig): Promise<void> {
  // The model is not loaded: the first request loads it, the queue holds one, the rest overflow.
  const burst = 12;
  const answers = await Promise.all(
    Array.from({ length: burst }, (_, i) =>
      call(rig, GENERATE, {
        model: MODEL,
        prompt: PROMPT,
        stream: i % 2 === 0,
        options: { num_predict: 2, ...GREEDY },
      })),
  );
  const refused = answers.filter((answer) => answer.status === 503);
  console.log(`burst of ${burst} while loading: ${refused.length} × 503`);
  assert.ok(refused.length >= 1, "the burst overflowed Ollama's queue");
  assert.deepEqual(
    answers.filter((answer) => answer.status !== 503).map((answer) => answer.status),
    Array(burst - refused.length).fill(200),
  );
  for (const answer of answers) {
    const exchange = await rig.hop.exchange(answer.id);
    assert.equal(answer.status, exchange.status);
    assert.equal(answer.contentType, exchange.responseHeaders.get("content-type"));
    assert.deepEqual(answer.body, exchange.body(), "the client got Ollama's bytes");
  }
  for (const answer of refused) {
    assert.equal(decoder.decode(answer.body), SERVER_BUSY);
    assert.equal(answer.contentType, "application/json; charset=utf-8");
  }

  await rig.harness.settle();
  const samples = await rig.harness.scrape();
  const errors = (reason: string) =>
    valueOf(samples, "ollama_request_errors_total", { model: LABEL, endpoint: GENERATE, reason });
  assert.equal(errors("server_busy"), refused.length);
  assert.equal(errors("upstream_error"), 0);
  const requests = (code: string) =>
    valueOf(samples, "ollama_requests_total", { model: LABEL, endpoint: GENERATE, code });
  assert.equal(requests("503"), refused.length);
  assert.equal(requests("200"), burst - refused.length);
}

/** About 200 tokens of `tiny`'s byte-level vocabulary: longer than a 64-token context. */
const LONG_PROMPT = Array.from({ length: 50 }, (_, i) => `word${i}`).join(" ");
const SMALL_CONTEXT = 64;

Deno.test({
  name: "real Ollama saturation: a prompt longer than num_ctx is truncated to the context " +
    "length; usage ratio and limit reached follow prompt + output over /api/ps",
  ignore,
  fn: () => withRig({ ollama: ONE_SLOT }, contextPressure),
});

async function contextPressure(rig: Rig): Promise<void> {
  // The prompt's length, untruncated, straight from Ollama (the exporter does not see it).
  const whole = await direct(rig.ollama, GENERATE, {
    model: MODEL,
    prompt: LONG_PROMPT,
    stream: false,
    options: { num_predict: 1, ...GREEDY },
  }) as { prompt_eval_count: number };
  assert.ok(whole.prompt_eval_count > 3 * SMALL_CONTEXT, `${whole.prompt_eval_count} tokens`);

  // Through the exporter, with a small context: the model is reloaded with it.
  const small = { num_ctx: SMALL_CONTEXT, num_predict: 4, ...GREEDY };
  const long = await call(rig, GENERATE, {
    model: MODEL,
    prompt: LONG_PROMPT,
    stream: false,
    options: small,
  });
  assert.equal(long.status, 200, decoder.decode(long.body));
  const ps = await direct(rig.ollama, "/api/ps") as {
    models: { name: string; context_length: number }[];
  };
  const loaded = ps.models.find((model) => model.name === LABEL);
  assert.ok(loaded !== undefined, JSON.stringify(ps));
  const contextLength = loaded.context_length;
  assert.equal(contextLength, SMALL_CONTEXT, "/api/ps: the context the model was loaded with");
  const longFacts = facts(await rig.hop.exchange(long.id));
  // Ollama truncated the prompt to the whole context, then generated on by shifting it.
  assert.equal(longFacts.promptTokens, contextLength, "the prompt, truncated");
  assert.equal(longFacts.outputTokens, 4);
  // The ratio lands once the exporter has read /api/ps (it asks after the request).
  await scrapeUntil(
    rig,
    "the first context usage",
    (samples) =>
      valueOf(samples, "ollama_context_usage_ratio_count", { model: LABEL }) === 1
        ? true
        : undefined,
  );

  // A short prompt in the same context: well within it.
  const short = await call(rig, GENERATE, { model: MODEL, prompt: PROMPT, options: small });
  assert.equal(short.status, 200);
  const shortFacts = facts(await rig.hop.exchange(short.id));
  await rig.harness.settle();

  const used = [longFacts, shortFacts].map((f) => f.promptTokens! + f.outputTokens!);
  console.log(
    `prompt of ${whole.prompt_eval_count} tokens; with num_ctx ${SMALL_CONTEXT}: /api/ps ` +
      `context_length ${contextLength}, prompt_eval_count ${longFacts.promptTokens}, used ` +
      `${used.join(" and ")} tokens`,
  );
  assert.ok(used[1]! < contextLength, "the short one fits");
  const { samples } = await scrapeUntil(
    rig,
    "both context usages",
    (samples) =>
      valueOf(samples, "ollama_context_usage_ratio_count", { model: LABEL }) === 2
        ? true
        : undefined,
  );
  assert.equal(
    valueOf(samples, "ollama_context_usage_ratio_sum", { model: LABEL }),
    used[0]! / contextLength + used[1]! / contextLength,
  );
  assert.equal(
    valueOf(samples, "ollama_context_limit_reached_total", { model: LABEL }),
    used.filter((tokens) => tokens >= contextLength).length,
  );
  assert.equal(valueOf(samples, "ollama_context_limit_reached_total", { model: LABEL }), 1);
}

/** One stream per API family, capped; `tiny-think` thinks on the native chat. */
const STREAMS: readonly { path: string; model: string; body: Record<string, unknown> }[] = [
  {
    path: "/api/generate",
    model: LABEL,
    body: { model: MODEL, prompt: PROMPT, options: { num_predict: 8, ...GREEDY } },
  },
  {
    path: "/api/chat",
    model: THINK_LABEL,
    body: {
      model: THINK,
      messages: [{ role: "user", content: PROMPT }],
      options: { num_predict: 8, ...GREEDY },
    },
  },
  {
    path: "/v1/chat/completions",
    model: LABEL,
    body: {
      model: MODEL,
      messages: [{ role: "user", content: PROMPT }],
      max_tokens: 8,
      temperature: 0,
      stream: true,
    },
  },
  {
    path: "/v1/completions",
    model: LABEL,
    body: { model: MODEL, prompt: PROMPT, max_tokens: 8, temperature: 0, stream: true },
  },
  {
    path: "/v1/messages",
    model: LABEL,
    body: {
      model: MODEL,
      messages: [{ role: "user", content: PROMPT }],
      max_tokens: 8,
      temperature: 0,
      stream: true,
    },
  },
  {
    path: "/v1/responses",
    model: LABEL,
    body: { model: MODEL, input: PROMPT, max_output_tokens: 8, temperature: 0, stream: true },
  },
];

Deno.test({
  name: "real Ollama saturation: inter-token latency observes every gap between output chunks, " +
    "on every API family",
  ignore,
  fn: () => withRig({ ollama: ONE_SLOT }, interTokenLatency),
});

async function interTokenLatency(rig: Rig): Promise<void> {
  const chunks: number[] = [];
  for (const stream of STREAMS) {
    const answer = await call(rig, stream.path, stream.body);
    assert.equal(answer.status, 200, `${stream.path}: ${decoder.decode(answer.body)}`);
    const read = facts(await rig.hop.exchange(answer.id));
    assert.ok(read.streaming && read.terminated, `${stream.path}: a whole stream`);
    chunks.push(read.outputChunks);
  }
  await rig.harness.settle();
  const samples = await rig.harness.scrape();
  console.log(
    "output chunks per stream:",
    Object.fromEntries(STREAMS.map((stream, i) => [stream.path, chunks[i]])),
  );
  STREAMS.forEach((stream, i) => {
    const labels = { model: stream.model, endpoint: stream.path };
    const n = chunks[i]!;
    assert.ok(n >= 2, `${stream.path}: at least two output chunks`);
    assert.equal(
      valueOf(samples, "ollama_inter_token_latency_seconds_count", labels),
      n - 1,
      `${stream.path}: one gap per pair of consecutive output chunks`,
    );
    // The gaps add up to the span from the first output chunk to the last, which the mean
    // interval spreads over the same n − 1 gaps (each rounded to the nanosecond).
    const gaps = valueOf(samples, "ollama_inter_token_latency_seconds_sum", labels);
    const mean = valueOf(samples, "ollama_time_per_output_token_seconds_sum", labels);
    assert.equal(valueOf(samples, "ollama_time_per_output_token_seconds_count", labels), 1);
    assert.ok(
      Math.abs(gaps - mean * (n - 1)) <= n * 1e-9,
      `${stream.path}: gaps ${gaps} s, mean ${mean} s × ${n - 1}`,
    );
  });
}

Deno.test({
  name: "real Ollama saturation: a model reloaded with another num_ctx: the ratio follows " +
    "the context it runs with now",
  ignore,
  fn: () => withRig({ ollama: ONE_SLOT }, reloadedContext),
});

async function reloadedContext(rig: Rig): Promise<void> {
  // The default context first, seen by the exporter (a scrape reads /api/ps).
  const first = await call(rig, GENERATE, {
    model: MODEL,
    prompt: PROMPT,
    stream: false,
    options: { num_predict: 4, ...GREEDY },
  });
  assert.equal(first.status, 200);
  const firstFacts = facts(await rig.hop.exchange(first.id));
  await scrapeUntil(
    rig,
    "the first context usage",
    (samples) =>
      valueOf(samples, "ollama_context_usage_ratio_count", { model: LABEL }) === 1
        ? true
        : undefined,
  );
  const before = await direct(rig.ollama, "/api/ps") as { models: { context_length: number }[] };
  const defaultContext = before.models[0]!.context_length;

  // Then a long prompt with a small context: Ollama reloads the model with it and truncates.
  const long = await call(rig, GENERATE, {
    model: MODEL,
    prompt: LONG_PROMPT,
    stream: false,
    options: { num_ctx: SMALL_CONTEXT, num_predict: 4, ...GREEDY },
  });
  assert.equal(long.status, 200);
  const after = await direct(rig.ollama, "/api/ps") as { models: { context_length: number }[] };
  assert.equal(after.models[0]!.context_length, SMALL_CONTEXT);
  const longFacts = facts(await rig.hop.exchange(long.id));
  await rig.harness.settle();
  const { samples } = await scrapeUntil(
    rig,
    "the second context usage",
    (samples) =>
      valueOf(samples, "ollama_context_usage_ratio_count", { model: LABEL }) === 2
        ? true
        : undefined,
  );
  const used = [firstFacts, longFacts].map((f) => f.promptTokens! + f.outputTokens!);
  console.log(
    `default context ${defaultContext}: ${used[0]} tokens; reloaded with ${SMALL_CONTEXT}: ` +
      `${used[1]} tokens`,
  );
  // Expected: the second over the context Ollama now runs the model with (/api/ps), and the limit
  // reached (Ollama truncated its prompt to the whole context).
  assert.deepEqual(
    {
      ratioSum: valueOf(samples, "ollama_context_usage_ratio_sum", { model: LABEL }),
      limitReached: valueOf(samples, "ollama_context_limit_reached_total", { model: LABEL }),
    },
    {
      ratioSum: used[0]! / defaultContext + used[1]! / SMALL_CONTEXT,
      limitReached: 1,
    },
  );
}

Deno.test({
  name: "real Ollama saturation: the first generation after a scrape that found the model " +
    "unloaded counts in the context usage",
  ignore,
  fn: () => withRig({ ollama: ONE_SLOT }, loadedAfterScrape),
});

async function loadedAfterScrape(rig: Rig): Promise<void> {
  // A scrape while nothing is loaded: the exporter's last /api/ps lists no model.
  const idle = await rig.harness.scrape();
  assert.equal(sample(idle, "ollama_loaded_models"), 0);
  // Then a short generation that loads the model and ends at once.
  const answer = await call(rig, GENERATE, {
    model: MODEL,
    prompt: PROMPT,
    stream: false,
    options: { num_predict: 4, ...GREEDY },
  });
  assert.equal(answer.status, 200);
  const read = facts(await rig.hop.exchange(answer.id));
  const ps = await direct(rig.ollama, "/api/ps") as { models: { context_length: number }[] };
  const contextLength = ps.models[0]!.context_length;
  await rig.harness.settle();
  let samples = await rig.harness.scrape();
  for (let i = 0; i < 100; i++) {
    if (valueOf(samples, "ollama_context_usage_ratio_count", { model: LABEL }) > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
    samples = await rig.harness.scrape();
  }
  assert.deepEqual(
    {
      count: valueOf(samples, "ollama_context_usage_ratio_count", { model: LABEL }),
      sum: valueOf(samples, "ollama_context_usage_ratio_sum", { model: LABEL }),
    },
    { count: 1, sum: (read.promptTokens! + read.outputTokens!) / contextLength },
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const whole = new Uint8Array(a.length + b.length);
  whole.set(a);
  whole.set(b, a.length);
  return whole;
}

/** `bytes` up to its last line ending: a stream cut anywhere, read as whole lines. */
function completeLines(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, bytes.lastIndexOf(0x0a) + 1);
}
