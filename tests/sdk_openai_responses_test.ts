/**
 * The real `openai` SDK against the exporter's `/v1/responses`, in front of a REAL Ollama
 * (v0.24.0 with tiny random-weight models): every call is also made directly to Ollama and must
 * come back the same (greedy decoding, `temperature: 0`, so even the text matches; per-response
 * ids and clocks aside), and the exporter's metrics must equal what the SDK reported (issue #11's
 * spec: `response.completed` usage, status, `function_call` items, first output and first answer
 * of each stream). Each test has its own exporter, so every count starts at zero. Skipped, with
 * one line saying why, when no real Ollama is available.
 */
import assert from "node:assert/strict";
import OpenAI from "npm:openai@6.49.0";
import type { ExporterHarness } from "./support/exporter_harness.ts";
import { REAL_OLLAMA_ABSENT, type RealOllama } from "./support/real_ollama.ts";
import {
  assertMetrics,
  comparable,
  recordingFetch,
  withRealOllamaExporter,
} from "./support/sdk_real_ollama.ts";

if (REAL_OLLAMA_ABSENT !== null) console.log(REAL_OLLAMA_ABSENT);

type Response = OpenAI.Responses.Response;
type Event = OpenAI.Responses.ResponseStreamEvent;
type Usage = OpenAI.Responses.ResponseUsage;

const ENDPOINT = "endpoint=/v1/responses";
const WEATHER_TOOL: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "weather",
  parameters: { type: "object", properties: { city: { type: "string" } } },
  strict: null,
};

/** An SDK client for `baseURL` that never retries (a retry would be a second request counted). */
function client(baseURL: string): { sdk: OpenAI; paths: string[] } {
  const recording = recordingFetch();
  const sdk = new OpenAI({
    baseURL: `${baseURL}/v1`,
    apiKey: "not-checked-by-ollama",
    maxRetries: 0,
    timeout: 60_000,
    fetch: recording.fetch,
  });
  return { sdk, paths: recording.paths };
}

/** The SDKs of one test: `direct` talks to Ollama, `proxied` to the exporter. */
function pair(real: RealOllama, h: ExporterHarness) {
  return { direct: client(real.url), proxied: client(h.url) };
}

/** `responses.create({ stream: true })`: the raw events, in order. */
async function rawStream(
  sdk: OpenAI,
  params: OpenAI.Responses.ResponseCreateParamsNonStreaming,
): Promise<Event[]> {
  const stream = await sdk.responses.create({ ...params, stream: true });
  const events: Event[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** `responses.stream` (the SDK's helper, which assembles the response from the events). */
async function helperStream(
  sdk: OpenAI,
  params: Omit<OpenAI.Responses.ResponseCreateParamsNonStreaming, "stream">,
): Promise<{ events: Event[]; response: Response }> {
  const stream = sdk.responses.stream(params);
  const events: Event[] = [];
  // The helper builds its snapshot from these objects: copy them before it can change them.
  for await (const event of stream) events.push(structuredClone(event));
  return { events, response: await stream.finalResponse() };
}

/** The response of a stream's `response.completed` event, the only one that carries usage. */
function completed(events: readonly Event[]): Response {
  const ends = events.filter((e) =>
    e.type === "response.completed" || e.type === "response.incomplete" ||
    e.type === "response.failed"
  );
  assert.deepEqual(ends.map((e) => e.type), ["response.completed"]);
  assert.equal(events.at(-1)!.type, "response.completed", "the last event");
  return (ends[0] as OpenAI.Responses.ResponseCompletedEvent).response;
}

/** The usage of a response, which Ollama always sends. */
function usageOf(response: Response): Usage {
  assert.ok(response.usage, "usage");
  return response.usage;
}

/** Output events of a stream by the spec: a text, reasoning or arguments delta, non-empty. */
function chunks(events: readonly Event[]) {
  let output = 0;
  let answer = 0;
  for (const event of events) {
    switch (event.type) {
      case "response.reasoning_summary_text.delta":
      case "response.reasoning_text.delta":
        if (event.delta !== "") output++;
        break;
      case "response.output_text.delta":
      case "response.function_call_arguments.delta":
        if (event.delta !== "") (output++, answer++);
        break;
    }
  }
  return { output, answer };
}

/** `response.output_item.added` item types, in order. */
function itemsAdded(events: readonly Event[]): string[] {
  return events.flatMap((e) => e.type === "response.output_item.added" ? [e.item.type] : []);
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

Deno.test({
  name: "OpenAI SDK Responses, tiny: create, raw stream and stream helper match Ollama's",
  ignore: REAL_OLLAMA_ABSENT !== null,
  fn: () =>
    withRealOllamaExporter(async (real, h) => {
      const { direct, proxied } = pair(real, h);
      const params = {
        model: "tiny",
        input: "Why is the sky blue?",
        max_output_tokens: 12,
        temperature: 0,
      };

      const created = await proxied.sdk.responses.create(params);
      assert.deepEqual(comparable(created), comparable(await direct.sdk.responses.create(params)));
      assert.deepEqual(created.output.map((item) => item.type), ["message"]);
      // Ollama v0.24.0 says `completed` (never `incomplete`) when max_output_tokens cuts the
      // answer: by the spec the exporter records `stop`.
      assert.equal(created.status, "completed");
      assert.equal(usageOf(created).output_tokens, 12);

      const raw = await rawStream(proxied.sdk, params);
      assert.deepEqual(comparable(raw), comparable(await rawStream(direct.sdk, params)));
      assert.deepEqual(itemsAdded(raw), ["message"]);
      const rawResponse = completed(raw);
      assert.equal(rawResponse.status, "completed");
      // The same greedy answer, streamed or not.
      assert.deepEqual(
        comparable(rawResponse.output),
        comparable(created.output),
      );
      assert.deepEqual(usageOf(rawResponse), usageOf(created));

      const helper = await helperStream(proxied.sdk, params);
      const helperDirect = await helperStream(direct.sdk, params);
      assert.deepEqual(comparable(helper.events), comparable(helperDirect.events));
      assert.deepEqual(comparable(helper.response), comparable(helperDirect.response));
      assert.equal(helper.response.output_text, created.output_text);
      assert.deepEqual(usageOf(helper.response), usageOf(created));

      assert.deepEqual(proxied.paths, ["/v1/responses", "/v1/responses", "/v1/responses"]);
      for (const events of [raw, helper.events]) {
        const { output, answer } = chunks(events);
        assert.ok(output >= 2, `${output} output events`); // so one time per output token each
        assert.equal(answer, output, "tiny does not think");
      }
      const usages = [created, rawResponse, helper.response].map(usageOf);
      await assertMetrics(h, "tiny:latest", {
        ollama_requests_total: { [`code=200,${ENDPOINT}`]: 3 },
        ollama_response_seconds_count: { [ENDPOINT]: 3 },
        ollama_tokens_processed_total: { "": sum(usages.map((u) => u.input_tokens)) },
        ollama_tokens_generated_total: { "": sum(usages.map((u) => u.output_tokens)) },
        ollama_finished_generations_total: { [`${ENDPOINT},reason=stop`]: 3 },
        ollama_time_to_first_token_seconds_count: { [ENDPOINT]: 2 },
        ollama_time_to_first_answer_seconds_count: { [ENDPOINT]: 2 },
        ollama_time_per_output_token_seconds_count: { [ENDPOINT]: 2 },
      });
    }),
});

Deno.test({
  name: "OpenAI SDK Responses, tiny-think with reasoning: reasoning output, no first answer",
  ignore: REAL_OLLAMA_ABSENT !== null,
  fn: () =>
    withRealOllamaExporter(async (real, h) => {
      const { direct, proxied } = pair(real, h);
      const params = {
        model: "tiny-think",
        input: "Why is the sky blue?",
        reasoning: { effort: "high" } as const,
        max_output_tokens: 16,
        temperature: 0,
      };

      const created = await proxied.sdk.responses.create(params);
      assert.deepEqual(comparable(created), comparable(await direct.sdk.responses.create(params)));
      // All of it is reasoning; the JSON answer still holds an empty message.
      assert.deepEqual(created.output.map((item) => item.type), ["reasoning", "message"]);
      assert.equal(created.output_text, "");
      assert.equal(created.status, "completed");
      assert.equal(usageOf(created).output_tokens, 16);

      const raw = await rawStream(proxied.sdk, params);
      assert.deepEqual(comparable(raw), comparable(await rawStream(direct.sdk, params)));
      assert.deepEqual(itemsAdded(raw), ["reasoning"]);
      const rawResponse = completed(raw);
      assert.equal(rawResponse.status, "completed");
      assert.deepEqual(usageOf(rawResponse), usageOf(created));
      const { output, answer } = chunks(raw);
      assert.ok(output >= 2, `${output} output events`);
      assert.equal(answer, 0, "reasoning only");

      await assertMetrics(h, "tiny-think:latest", {
        ollama_requests_total: { [`code=200,${ENDPOINT}`]: 2 },
        ollama_response_seconds_count: { [ENDPOINT]: 2 },
        ollama_tokens_processed_total: {
          "": usageOf(created).input_tokens + usageOf(rawResponse).input_tokens,
        },
        ollama_tokens_generated_total: { "": 2 * 16 },
        ollama_finished_generations_total: { [`${ENDPOINT},reason=stop`]: 2 },
        // A first token (reasoning), but never an answer.
        ollama_time_to_first_token_seconds_count: { [ENDPOINT]: 1 },
        ollama_time_per_output_token_seconds_count: { [ENDPOINT]: 1 },
      });
    }),
});

Deno.test({
  name: "OpenAI SDK Responses, tiny-tools: one get_weather function_call, streamed or not",
  ignore: REAL_OLLAMA_ABSENT !== null,
  fn: () =>
    withRealOllamaExporter(async (real, h) => {
      const { direct, proxied } = pair(real, h);
      const params = {
        model: "tiny-tools",
        input: "Weather in Paris?",
        tools: [WEATHER_TOOL],
        max_output_tokens: 50,
        temperature: 0,
      };
      const call = (output: Response["output"]) =>
        output.map((item) =>
          item.type === "function_call" ? [item.type, item.name, item.arguments] : [item.type]
        );

      const created = await proxied.sdk.responses.create(params);
      const createdDirect = await direct.sdk.responses.create(params);
      assert.deepEqual(comparable(created), comparable(createdDirect));
      assert.deepEqual(call(created.output), [
        ["function_call", "get_weather", '{"city":"Paris"}'],
      ]);
      assert.equal(created.status, "completed");

      const raw = await rawStream(proxied.sdk, params);
      assert.deepEqual(comparable(raw), comparable(await rawStream(direct.sdk, params)));
      assert.deepEqual(itemsAdded(raw), ["function_call"]);
      const rawResponse = completed(raw);
      assert.equal(rawResponse.status, "completed");
      assert.deepEqual(call(rawResponse.output), call(created.output));
      assert.deepEqual(usageOf(rawResponse), usageOf(created));
      // The arguments arrive whole in one delta: a first answer, no second token.
      assert.deepEqual(chunks(raw), { output: 1, answer: 1 });

      await assertMetrics(h, "tiny-tools:latest", {
        ollama_requests_total: { [`code=200,${ENDPOINT}`]: 2 },
        ollama_response_seconds_count: { [ENDPOINT]: 2 },
        ollama_tokens_processed_total: {
          "": usageOf(created).input_tokens + usageOf(rawResponse).input_tokens,
        },
        ollama_tokens_generated_total: {
          "": usageOf(created).output_tokens + usageOf(rawResponse).output_tokens,
        },
        ollama_tool_calls_total: { [ENDPOINT]: 2 },
        // `completed` is `stop`, which a tool call turns into `tool_calls`.
        ollama_finished_generations_total: { [`${ENDPOINT},reason=tool_calls`]: 2 },
        ollama_time_to_first_token_seconds_count: { [ENDPOINT]: 1 },
        ollama_time_to_first_answer_seconds_count: { [ENDPOINT]: 1 },
      });
    }),
});
