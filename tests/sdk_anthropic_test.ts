/**
 * The real `@anthropic-ai/sdk` against the exporter's `/v1/messages`, in front of a REAL Ollama
 * (v0.24.0 with tiny random-weight models): every call is also made directly to Ollama and must
 * come back the same (greedy decoding, `temperature: 0`, so even the text matches; per-response
 * ids aside), and the exporter's metrics must equal what the SDK reported (issue #11's spec:
 * final usage, `stop_reason`, `tool_use` blocks, first output and first answer of each stream).
 * Each test has its own exporter, so every count starts at zero. Skipped, with one line saying
 * why, when no real Ollama is available.
 */
import assert from "node:assert/strict";
import Anthropic from "npm:@anthropic-ai/sdk@1.14.0";
import type { ExporterHarness } from "./support/exporter_harness.ts";
import { REAL_OLLAMA_ABSENT, type RealOllama } from "./support/real_ollama.ts";
import {
  assertMetrics,
  comparable,
  recordingFetch,
  withRealOllamaExporter,
} from "./support/sdk_real_ollama.ts";

if (REAL_OLLAMA_ABSENT !== null) console.log(REAL_OLLAMA_ABSENT);

const ENDPOINT = "endpoint=/v1/messages";
const QUESTION: Anthropic.MessageParam[] = [{ role: "user", content: "Why is the sky blue?" }];
const WEATHER_TOOL: Anthropic.Tool = {
  name: "get_weather",
  description: "weather",
  input_schema: { type: "object", properties: { city: { type: "string" } } },
};

/** An SDK client for `baseURL` that never retries (a retry would be a second request counted). */
function client(baseURL: string): { sdk: Anthropic; paths: string[] } {
  const recording = recordingFetch();
  const sdk = new Anthropic({
    baseURL,
    apiKey: "not-checked-by-ollama",
    maxRetries: 0,
    timeout: 60_000,
    fetch: recording.fetch,
  });
  return { sdk, paths: recording.paths };
}

/** The SDKs of one test: `direct` talks to Ollama, `proxied` to the exporter. */
interface Pair {
  readonly direct: ReturnType<typeof client>;
  readonly proxied: ReturnType<typeof client>;
}

function pair(real: RealOllama, h: ExporterHarness): Pair {
  return { direct: client(real.url), proxied: client(h.url) };
}

/** A stream as the client saw it: its events (copied as they came) and the final message. */
interface Streamed {
  readonly events: Anthropic.RawMessageStreamEvent[];
  readonly message: Anthropic.Message;
}

/** `messages.stream` (the SDK's helper, which assembles the message from the events). */
async function helperStream(sdk: Anthropic, params: Anthropic.MessageStreamParams) {
  const stream = sdk.messages.stream(params);
  const events: Anthropic.RawMessageStreamEvent[] = [];
  // The helper builds its snapshot from these objects: copy them before it can change them.
  for await (const event of stream) events.push(structuredClone(event));
  return { events, message: await stream.finalMessage() };
}

/** `messages.create({ stream: true })`: raw events; the usage is the `message_delta`'s. */
async function rawStream(
  sdk: Anthropic,
  params: Anthropic.MessageCreateParamsNonStreaming,
): Promise<Streamed["events"]> {
  const stream = await sdk.messages.create({ ...params, stream: true });
  const events: Anthropic.RawMessageStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** The `message_delta` usage of a raw stream: the real numbers (`message_start`'s are a guess). */
function finalUsage(events: readonly Anthropic.RawMessageStreamEvent[]) {
  const deltas = events.filter((e) => e.type === "message_delta");
  assert.equal(deltas.length, 1, "one message_delta");
  const usage = deltas[0]!.usage;
  assert.equal(typeof usage.input_tokens, "number", "message_delta carries input_tokens");
  return { input_tokens: usage.input_tokens!, output_tokens: usage.output_tokens };
}

/** Output events of a stream by the spec: `content_block_delta` with a non-empty payload. */
function chunks(events: readonly Anthropic.RawMessageStreamEvent[]) {
  let output = 0;
  let answer = 0;
  for (const event of events) {
    if (event.type !== "content_block_delta") continue;
    const delta = event.delta;
    if (delta.type === "thinking_delta" && delta.thinking !== "") output++;
    if (delta.type === "text_delta" && delta.text !== "") (output++, answer++);
    if (delta.type === "input_json_delta" && delta.partial_json !== "") (output++, answer++);
  }
  return { output, answer };
}

/** `content_block_start` block types, in order. */
function blockStarts(events: readonly Anthropic.RawMessageStreamEvent[]): string[] {
  return events.flatMap((e) => e.type === "content_block_start" ? [e.content_block.type] : []);
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

Deno.test({
  name: "Anthropic SDK, tiny: create, stream helper, raw stream and beta creates match Ollama's",
  ignore: REAL_OLLAMA_ABSENT !== null,
  fn: () =>
    withRealOllamaExporter(async (real, h) => {
      const { direct, proxied } = pair(real, h);
      const params = { model: "tiny", max_tokens: 12, temperature: 0, messages: QUESTION };

      const created = await proxied.sdk.messages.create(params);
      assert.deepEqual(comparable(created), comparable(await direct.sdk.messages.create(params)));
      assert.deepEqual(created.content.map((b) => b.type), ["text"]);
      assert.equal(created.stop_reason, "max_tokens");
      assert.equal(created.usage.output_tokens, 12);

      const helper = await helperStream(proxied.sdk, params);
      const helperDirect = await helperStream(direct.sdk, params);
      assert.deepEqual(comparable(helper.events), comparable(helperDirect.events));
      assert.deepEqual(comparable(helper.message), comparable(helperDirect.message));
      // The same greedy answer, streamed or not.
      assert.deepEqual(helper.message.content, created.content);
      assert.equal(helper.message.stop_reason, "max_tokens");
      assert.deepEqual(helper.message.usage.output_tokens, 12);
      assert.deepEqual(helper.message.usage.input_tokens, created.usage.input_tokens);

      const raw = await rawStream(proxied.sdk, params);
      assert.deepEqual(comparable(raw), comparable(await rawStream(direct.sdk, params)));
      assert.deepEqual(blockStarts(raw), ["text"]);
      const rawUsage = finalUsage(raw);
      // message_start's input_tokens is Ollama's estimate, not the count: a metric taken from it
      // would not equal the usage below.
      const start = raw.find((e) => e.type === "message_start");
      assert.ok(start?.type === "message_start");
      assert.notEqual(start.message.usage.input_tokens, rawUsage.input_tokens);
      assert.deepEqual(rawUsage, {
        input_tokens: created.usage.input_tokens,
        output_tokens: 12,
      });

      // Beta calls: this SDK sends them to /v1/messages; SDKs before 1.3.0 added `?beta=true`,
      // sent here as they sent it. Both are the endpoint /v1/messages.
      const beta = await proxied.sdk.beta.messages.create(params);
      assert.deepEqual(comparable(beta), comparable(await direct.sdk.beta.messages.create(params)));
      assert.equal(beta.stop_reason, "max_tokens");
      const query = { query: { beta: "true" } };
      const betaQuery = await proxied.sdk.beta.messages.create(params, query);
      const betaQueryDirect = await direct.sdk.beta.messages.create(params, query);
      assert.deepEqual(comparable(betaQuery), comparable(betaQueryDirect));
      assert.equal(betaQuery.stop_reason, "max_tokens");
      assert.deepEqual(proxied.paths, [
        "/v1/messages",
        "/v1/messages",
        "/v1/messages",
        "/v1/messages",
        "/v1/messages?beta=true",
      ]);
      assert.deepEqual(direct.paths, proxied.paths);

      for (const events of [helper.events, raw]) {
        const { output, answer } = chunks(events);
        assert.ok(output >= 2, `${output} output events`); // so one time per output token each
        assert.equal(answer, output, "tiny does not think");
      }
      const usages = [created.usage, helper.message.usage, rawUsage, beta.usage, betaQuery.usage];
      assert.deepEqual(usages.map((u) => u.output_tokens), [12, 12, 12, 12, 12]);
      await assertMetrics(h, "tiny:latest", {
        ollama_requests_total: { [`code=200,${ENDPOINT}`]: 5 },
        ollama_response_seconds_count: { [ENDPOINT]: 5 },
        ollama_tokens_processed_total: { "": sum(usages.map((u) => u.input_tokens)) },
        ollama_tokens_generated_total: { "": sum(usages.map((u) => u.output_tokens)) },
        ollama_finished_generations_total: { [`${ENDPOINT},reason=length`]: 5 },
        ollama_time_to_first_token_seconds_count: { [ENDPOINT]: 2 },
        ollama_time_to_first_answer_seconds_count: { [ENDPOINT]: 2 },
        ollama_time_per_output_token_seconds_count: { [ENDPOINT]: 2 },
      });
    }),
});

Deno.test({
  name: "Anthropic SDK, tiny-think with thinking enabled: thinking blocks only, no first answer",
  ignore: REAL_OLLAMA_ABSENT !== null,
  fn: () =>
    withRealOllamaExporter(async (real, h) => {
      const { direct, proxied } = pair(real, h);
      const params = {
        model: "tiny-think",
        max_tokens: 16,
        temperature: 0,
        thinking: { type: "enabled", budget_tokens: 1024 } as const,
        messages: QUESTION,
      };

      const created = await proxied.sdk.messages.create(params);
      assert.deepEqual(comparable(created), comparable(await direct.sdk.messages.create(params)));
      assert.deepEqual(created.content.map((b) => b.type), ["thinking"]);
      assert.equal(created.stop_reason, "max_tokens");
      assert.equal(created.usage.output_tokens, 16);

      const streamed = await helperStream(proxied.sdk, params);
      const streamedDirect = await helperStream(direct.sdk, params);
      assert.deepEqual(comparable(streamed.events), comparable(streamedDirect.events));
      assert.deepEqual(comparable(streamed.message), comparable(streamedDirect.message));
      assert.deepEqual(blockStarts(streamed.events), ["thinking"]);
      assert.deepEqual(streamed.message.content.map((b) => b.type), ["thinking"]);
      assert.equal(streamed.message.stop_reason, "max_tokens");
      // finalMessage() takes the message_delta usage, not message_start's estimate.
      assert.deepEqual(streamed.message.usage.input_tokens, created.usage.input_tokens);
      assert.deepEqual(streamed.message.usage.output_tokens, 16);
      const { output, answer } = chunks(streamed.events);
      assert.ok(output >= 2, `${output} output events`);
      assert.equal(answer, 0, "thinking only");

      await assertMetrics(h, "tiny-think:latest", {
        ollama_requests_total: { [`code=200,${ENDPOINT}`]: 2 },
        ollama_response_seconds_count: { [ENDPOINT]: 2 },
        ollama_tokens_processed_total: {
          "": created.usage.input_tokens + streamed.message.usage.input_tokens,
        },
        ollama_tokens_generated_total: { "": 2 * 16 },
        ollama_finished_generations_total: { [`${ENDPOINT},reason=length`]: 2 },
        // A first token (thinking), but never an answer.
        ollama_time_to_first_token_seconds_count: { [ENDPOINT]: 1 },
        ollama_time_per_output_token_seconds_count: { [ENDPOINT]: 1 },
      });
    }),
});

Deno.test({
  name: "Anthropic SDK, tiny-tools: one get_weather tool_use, streamed or not, counted as such",
  ignore: REAL_OLLAMA_ABSENT !== null,
  fn: () =>
    withRealOllamaExporter(async (real, h) => {
      const { direct, proxied } = pair(real, h);
      const params = {
        model: "tiny-tools",
        max_tokens: 50,
        temperature: 0,
        tools: [WEATHER_TOOL],
        messages: [{ role: "user" as const, content: "Weather in Paris?" }],
      };

      const created = await proxied.sdk.messages.create(params);
      const createdDirect = await direct.sdk.messages.create(params);
      assert.deepEqual(comparable(created), comparable(createdDirect));
      assert.equal(created.stop_reason, "tool_use");
      assert.equal(created.content.length, 1);
      const block = created.content[0]!;
      assert.equal(block.type, "tool_use");
      assert.equal(block.name, "get_weather");
      assert.deepEqual(block.input, { city: "Paris" });
      assert.equal(created.usage.output_tokens, createdDirect.usage.output_tokens);

      const streamed = await helperStream(proxied.sdk, params);
      const streamedDirect = await helperStream(direct.sdk, params);
      assert.deepEqual(comparable(streamed.events), comparable(streamedDirect.events));
      assert.deepEqual(comparable(streamed.message), comparable(streamedDirect.message));
      assert.deepEqual(blockStarts(streamed.events), ["tool_use"]);
      assert.equal(streamed.message.stop_reason, "tool_use");
      assert.deepEqual(
        streamed.message.content.map((b) => b.type === "tool_use" ? [b.name, b.input] : b.type),
        [["get_weather", { city: "Paris" }]],
      );
      assert.deepEqual(streamed.message.usage.input_tokens, created.usage.input_tokens);
      assert.deepEqual(streamed.message.usage.output_tokens, created.usage.output_tokens);
      // The arguments arrive whole in one input_json_delta: a first answer, no second token.
      assert.deepEqual(chunks(streamed.events), { output: 1, answer: 1 });

      await assertMetrics(h, "tiny-tools:latest", {
        ollama_requests_total: { [`code=200,${ENDPOINT}`]: 2 },
        ollama_response_seconds_count: { [ENDPOINT]: 2 },
        ollama_tokens_processed_total: {
          "": created.usage.input_tokens + streamed.message.usage.input_tokens,
        },
        ollama_tokens_generated_total: {
          "": created.usage.output_tokens + streamed.message.usage.output_tokens,
        },
        ollama_tool_calls_total: { [ENDPOINT]: 2 },
        ollama_finished_generations_total: { [`${ENDPOINT},reason=tool_calls`]: 2 },
        ollama_time_to_first_token_seconds_count: { [ENDPOINT]: 1 },
        ollama_time_to_first_answer_seconds_count: { [ENDPOINT]: 1 },
      });
    }),
});
