/**
 * Stream shapes the captures of v0.24 do not hold, written out byte for byte and replayed
 * through the exporter at every split: the OpenAI chat stream of Ollama v0.32.6 and later (`role`
 * only in the first chunk, `finish_reason` in a chunk of its own with `delta: {}`), v0.24's empty
 * deltas (a partial UTF-8 character held back), the real server's mid-stream failure on
 * `/v1/chat/completions` (one last chunk with `"model":""`, then the end, no `[DONE]`), Anthropic's
 * `event: error`, and the Responses API's `response.failed` and `response.incomplete`.
 */

import assert from "node:assert/strict";
import { type Capture, CaptureReplay, type ReplaySplit } from "./support/capture_replay.ts";
import { withHarness } from "./support/exporter_harness.ts";
import { sample } from "./support/exposition.ts";

const encoder = new TextEncoder();

/** A chat chunk of v0.24 (`role` in every chunk). */
function chunk024(content: string, finish: string | null = null, model = "tiny"): string {
  return `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"${model}","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":${
    JSON.stringify(content)
  }},"finish_reason":${finish === null ? "null" : `"${finish}"`}}]}\n\n`;
}

/** A chat chunk of v0.32.6: `role` only when asked, `delta: {}` with the finish reason. */
function chunk0326(delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"tiny","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":${
    JSON.stringify(delta)
  },"finish_reason":${finish === null ? "null" : `"${finish}"`}}]}\n\n`;
}

const USAGE =
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"tiny","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":23,"completion_tokens":5,"total_tokens":28}}\n\n';
const DONE = "data: [DONE]\n\n";

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** One shape: its request, its body, and what it must produce. */
interface Shape {
  readonly path: string;
  readonly request: Record<string, unknown>;
  readonly body: string;
  readonly tokens?: [number, number];
  readonly chunks: [number, number];
  readonly tools?: number;
  readonly reason: string;
  readonly error?: string;
}

const SHAPES: Record<string, Shape> = {
  "OpenAI chat, v0.32.6 shape (role once, finish in its own chunk)": {
    path: "/v1/chat/completions",
    request: { model: "tiny", stream: true, stream_options: { include_usage: true } },
    body: chunk0326({ role: "assistant", content: "" }) + chunk0326({ content: "Hi" }) +
      chunk0326({ content: " there" }) + chunk0326({ content: "!" }) + chunk0326({}, "stop") +
      USAGE + DONE,
    tokens: [23, 5],
    chunks: [3, 3],
    reason: "stop",
  },
  "OpenAI chat, v0.32.6 shape with reasoning then a tool call": {
    path: "/v1/chat/completions",
    request: { model: "tiny", stream: true, stream_options: { include_usage: true } },
    body: chunk0326({ role: "assistant", reasoning: "hm" }) + chunk0326({ reasoning: "m" }) +
      chunk0326({
        tool_calls: [{
          id: "call_1",
          index: 0,
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' },
        }],
      }) + chunk0326({}, "tool_calls") + USAGE + DONE,
    tokens: [23, 5],
    chunks: [3, 1],
    tools: 1,
    reason: "tool_calls",
  },
  "OpenAI chat, v0.24 shape with empty deltas (a partial UTF-8 character held back)": {
    path: "/v1/chat/completions",
    request: { model: "tiny", stream: true, stream_options: { include_usage: true } },
    body: chunk024("") + chunk024("é") + chunk024("") + chunk024("x") + chunk024("", "length") +
      USAGE + DONE,
    tokens: [23, 5],
    chunks: [2, 2],
    reason: "length",
  },
  "OpenAI chat, v0.24 mid-stream failure (last chunk with an empty model, no [DONE])": {
    path: "/v1/chat/completions",
    request: { model: "tiny", stream: true, stream_options: { include_usage: true } },
    body: chunk024("Hi") + chunk024(" there") + chunk024("", null, ""),
    chunks: [2, 2],
    reason: "error",
    error: "stream_error",
  },
  "Anthropic Messages, event: error after some text": {
    path: "/v1/messages",
    request: { model: "tiny", stream: true, max_tokens: 20 },
    body: sse("message_start", {
      type: "message_start",
      message: { usage: { input_tokens: 6, output_tokens: 0 } },
    }) +
      sse("content_block_start", {
        type: "content_block_start",
        index: 0,
        content_block: { type: "text", text: "" },
      }) +
      sse("content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text: "Hi" },
      }) +
      sse("error", {
        type: "error",
        error: { type: "api_error", message: "model runner has unexpectedly stopped" },
      }),
    chunks: [1, 1],
    reason: "error",
    error: "stream_error",
  },
  "Responses, response.failed": {
    path: "/v1/responses",
    request: { model: "tiny", stream: true, max_output_tokens: 20 },
    body: sse("response.output_text.delta", {
      delta: "Hi",
      sequence_number: 3,
      type: "response.output_text.delta",
    }) +
      sse("response.failed", {
        response: { status: "failed", error: { code: "server_error", message: "x" } },
        sequence_number: 4,
        type: "response.failed",
      }),
    chunks: [1, 1],
    reason: "error",
    error: "stream_error",
  },
  "Responses, response.incomplete at max_output_tokens": {
    path: "/v1/responses",
    request: { model: "tiny", stream: true, max_output_tokens: 2 },
    body: sse("response.output_text.delta", {
      delta: "Hi",
      sequence_number: 3,
      type: "response.output_text.delta",
    }) +
      sse("response.output_text.delta", {
        delta: "",
        sequence_number: 4,
        type: "response.output_text.delta",
      }) +
      sse("response.output_text.delta", {
        delta: "!",
        sequence_number: 5,
        type: "response.output_text.delta",
      }) +
      sse("response.incomplete", {
        response: {
          status: "incomplete",
          incomplete_details: { reason: "max_output_tokens" },
          usage: { input_tokens: 23, output_tokens: 2, total_tokens: 25 },
        },
        sequence_number: 6,
        type: "response.incomplete",
      }),
    tokens: [23, 2],
    chunks: [2, 2],
    reason: "length",
  },
  "Responses, stream cut before its last event": {
    path: "/v1/responses",
    request: { model: "tiny", stream: true, max_output_tokens: 20 },
    body: sse("response.reasoning_summary_text.delta", {
      delta: "hm",
      sequence_number: 3,
      type: "response.reasoning_summary_text.delta",
    }),
    chunks: [1, 0],
    reason: "error",
    error: "stream_error",
  },
};

async function replay(name: string, split: ReplaySplit): Promise<void> {
  const shape = SHAPES[name]!;
  const capture: Capture = {
    name,
    method: "POST",
    path: shape.path,
    requestBody: JSON.stringify(shape.request),
    status: 200,
    headers: [["Content-Type", "text/event-stream"]],
    body: encoder.encode(shape.body),
    chunked: true,
  };
  const upstream = CaptureReplay.start(capture, { split });
  try {
    await withHarness({ upstream: upstream.url }, async (harness) => {
      const response = await fetch(`${harness.url}${shape.path}`, {
        method: "POST",
        body: capture.requestBody,
      });
      assert.equal(await response.text(), shape.body, `${name}: body unchanged`);
      await harness.settle();
      const samples = await harness.scrape();
      // A failed request does not admit a model Ollama has not listed: read the label used.
      const requests = [...samples.keys()].filter((key) =>
        key.startsWith("ollama_requests_total{")
      );
      assert.equal(requests.length, 1, requests.join(", "));
      const model = shape.error ? /model="([^"]*)"/.exec(requests[0]!)![1]! : "tiny:latest";
      const at = { model, endpoint: shape.path };
      const get = (metric: string, labels: Record<string, string> = at) =>
        sample(samples, metric, labels) ?? 0;
      const [prompt, output] = shape.tokens ?? [0, 0];
      assert.equal(get("ollama_tokens_processed_total", { model }), prompt);
      assert.equal(get("ollama_tokens_generated_total", { model }), output);
      const [chunks, answers] = shape.chunks;
      assert.equal(get("ollama_time_to_first_token_seconds_count"), chunks > 0 ? 1 : 0, "ttft");
      assert.equal(get("ollama_time_to_first_answer_seconds_count"), answers > 0 ? 1 : 0, "ttfa");
      assert.equal(get("ollama_time_per_output_token_seconds_count"), chunks > 1 ? 1 : 0, "tpot");
      assert.equal(get("ollama_tool_calls_total"), shape.tools ?? 0, "tool calls");
      assert.equal(
        get("ollama_finished_generations_total", { ...at, reason: shape.reason }),
        1,
        "finish reason",
      );
      const errors = [...samples].filter(([series, value]) =>
        series.startsWith("ollama_request_errors_total{") && value > 0
      ).map(([series]) => /reason="([^"]*)"/.exec(series)![1]);
      assert.deepEqual(errors, shape.error ? [shape.error] : [], "errors");
    });
  } finally {
    await upstream.close();
  }
}

for (const split of ["events", "bytes", "random"] as const) {
  Deno.test(`stream shapes beyond the captures (${split}): every number exact`, async (t) => {
    for (const name of Object.keys(SHAPES)) await t.step(name, () => replay(name, split));
  });
}
