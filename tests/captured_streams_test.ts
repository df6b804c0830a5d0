/**
 * The exact bytes the real Ollama v0.24.0 sent (`../shared/real-ollama/samples/`), replayed
 * through the exporter on every API family — native NDJSON, OpenAI chat/completions SSE, OpenAI
 * Responses SSE, Anthropic Messages SSE — cut into HTTP chunks per event, per byte and at random:
 * the client gets the bytes unchanged, and every number equals what the capture holds (counted by
 * hand from the files, and by an independent reader when the files were studied).
 */

import assert from "node:assert/strict";
import {
  type Capture,
  CaptureReplay,
  readCapture,
  type ReplaySplit,
  SAMPLES_ABSENT,
} from "./support/capture_replay.ts";
import { withHarness } from "./support/exporter_harness.ts";
import { sample } from "./support/exposition.ts";

/** What one capture must produce. */
interface Expected {
  /** Prompt and output tokens, when the answer reports them. */
  tokens?: [number, number];
  /** For streams: output chunks (thinking included), answer chunks. */
  chunks?: [number, number];
  /** Tool calls. */
  tools?: number;
  /** Normalised finish reason (for 2xx generations). */
  reason?: string;
  /** An error status: counted as `upstream_error`, no generation. */
  error?: boolean;
}

const EXPECTED: Record<string, Expected> = {
  "10_api_generate_load_only.txt": { reason: "load" },
  "12_api_generate_stream.txt": { tokens: [23, 20], chunks: [15, 15], reason: "length" },
  "13_api_generate_nostream.txt": { tokens: [23, 20], reason: "length" },
  "14_api_generate_stop_string.txt": { tokens: [23, 4], reason: "stop" },
  "15_api_generate_stop_string_stream.txt": { tokens: [23, 4], chunks: [3, 3], reason: "stop" },
  "16_v1_chat_stop_string_stream.txt": { chunks: [2, 2], reason: "stop" },
  "19_api_chat_think_false_stream.txt": { tokens: [29, 20], chunks: [16, 16], reason: "length" },
  "21_api_chat_stream.txt": { tokens: [23, 20], chunks: [15, 15], reason: "length" },
  "23_api_chat_think_stream.txt": { tokens: [25, 20], chunks: [10, 0], reason: "length" },
  "26_api_chat_think_unsupported.txt": { error: true },
  "27_api_chat_thinkmodel_default_stream.txt": {
    tokens: [25, 20],
    chunks: [10, 0],
    reason: "length",
  },
  "28_v1_chat_thinkmodel_default_stream.txt": {
    tokens: [25, 20],
    chunks: [13, 0],
    reason: "length",
  },
  "29_v1_messages_thinkmodel_default_stream.txt": {
    tokens: [25, 20],
    chunks: [13, 0],
    reason: "length",
  },
  "30_v1_responses_thinkmodel_default_stream.txt": {
    tokens: [25, 20],
    chunks: [15, 0],
    reason: "stop",
  },
  "35_tools_api_chat_stream.txt": {
    tokens: [352, 4],
    chunks: [1, 1],
    tools: 1,
    reason: "tool_calls",
  },
  "36_tools_api_chat_nostream.txt": { tokens: [352, 4], tools: 1, reason: "tool_calls" },
  "38_tools_v1_chat_stream_usage.txt": {
    tokens: [352, 4],
    chunks: [1, 1],
    tools: 1,
    reason: "tool_calls",
  },
  "39_tools_v1_chat_nostream.txt": { tokens: [352, 4], tools: 1, reason: "tool_calls" },
  "41_tools_v1_messages_stream.txt": {
    tokens: [317, 4],
    chunks: [1, 1],
    tools: 1,
    reason: "tool_calls",
  },
  "42_tools_v1_messages_nostream.txt": { tokens: [317, 4], tools: 1, reason: "tool_calls" },
  "44_tools_v1_responses_stream.txt": {
    tokens: [317, 4],
    chunks: [1, 1],
    tools: 1,
    reason: "tool_calls",
  },
  "45_tools_v1_responses_nostream.txt": { tokens: [317, 4], tools: 1, reason: "tool_calls" },
  "46_tools_v1_completions_natural_stop.txt": {
    tokens: [20, 4],
    chunks: [3, 3],
    reason: "stop",
  },
  "55_v1_chat_stream.txt": { chunks: [8, 8], reason: "length" },
  "56_v1_chat_stream_usage.txt": { tokens: [23, 20], chunks: [8, 8], reason: "length" },
  "57_v1_chat_nostream.txt": { tokens: [23, 20], reason: "length" },
  "60_v1_chat_reasoning_stream.txt": { chunks: [13, 0], reason: "length" },
  "62_v1_completions_stream.txt": { tokens: [20, 20], chunks: [8, 8], reason: "length" },
  "65_v1_responses_nostream.txt": { tokens: [23, 20], reason: "stop" },
  "66_v1_responses_stream.txt": { tokens: [23, 20], chunks: [10, 10], reason: "stop" },
  "67_v1_responses_reasoning_stream.txt": { tokens: [25, 20], chunks: [9, 0], reason: "stop" },
  "69_v1_responses_tools_stream.txt": { tokens: [317, 20], chunks: [15, 15], reason: "stop" },
  "70_v1_messages_thinking_nostream.txt": { tokens: [25, 20], reason: "length" },
  "71_v1_messages_system_stop_seq.txt": { tokens: [44, 1], reason: "stop" },
  "72_v1_messages_nostream.txt": { tokens: [23, 20], reason: "length" },
  "73_v1_messages_stream.txt": { tokens: [23, 20], chunks: [13, 13], reason: "length" },
  "74_v1_messages_thinking_stream.txt": { tokens: [25, 20], chunks: [14, 0], reason: "length" },
  "75_v1_messages_tools_stream.txt": { tokens: [317, 20], chunks: [8, 8], reason: "length" },
  "81_err_unknown_model_v1_messages.txt": { error: true },
  "82_err_unknown_model_v1_responses.txt": { error: true },
  "86_err_malformed_v1_messages.txt": { error: true },
  "96_api_chat_keepalive0_unload.txt": { reason: "unload" },
  "97_api_generate_keepalive0_unload.txt": { reason: "unload" },
};

if (SAMPLES_ABSENT) console.log(`captured_streams_test: skipped, ${SAMPLES_ABSENT}`);

/** The `model` label a request body's model gets. */
function modelLabel(capture: Capture): string {
  const match = /"model":"([^"]*)"/.exec(capture.requestBody);
  if (!match) return "";
  const name = match[1]!.toLowerCase();
  return name.includes(":") ? name : `${name}:latest`;
}

/** The `model` label of the one request recorded on `endpoint`. */
function labelUsed(samples: Map<string, number>, endpoint: string): string {
  const series = [...samples.keys()].filter((key) =>
    key.startsWith("ollama_requests_total{") && key.includes(`endpoint="${endpoint}"`)
  );
  assert.equal(series.length, 1, `one request on ${endpoint}: ${series.join(", ")}`);
  return /model="([^"]*)"/.exec(series[0]!)![1]!;
}

function endpointOf(capture: Capture): string {
  return capture.path.split("?")[0]!;
}

async function replay(name: string, split: ReplaySplit): Promise<void> {
  const capture = readCapture(name);
  const expected = EXPECTED[name]!;
  const upstream = CaptureReplay.start(capture, { split });
  try {
    await withHarness({ upstream: upstream.url }, async (harness) => {
      const response = await fetch(`${harness.url}${capture.path}`, {
        method: capture.method,
        headers: { "content-type": "application/json" },
        body: capture.requestBody,
      });
      const body = new Uint8Array(await response.arrayBuffer());
      assert.equal(response.status, capture.status, `${name}: status`);
      assert.deepEqual(body, capture.body, `${name} (${split}): the body passed on unchanged`);
      await harness.settle();
      const samples = await harness.scrape();
      const endpoint = endpointOf(capture);
      // A model Ollama does not know is not admitted as a label value: read the one used.
      const model = expected.error ? labelUsed(samples, endpoint) : modelLabel(capture);
      const at = { model, endpoint };
      const get = (metric: string, labels: Record<string, string>) =>
        sample(samples, metric, labels) ?? 0;
      const label = `${name} (${split})`;
      assert.equal(
        get("ollama_requests_total", { ...at, code: String(capture.status) }),
        1,
        `${label}: requests`,
      );
      const [prompt, output] = expected.tokens ?? [0, 0];
      assert.equal(get("ollama_tokens_processed_total", { model }), prompt, `${label}: prompt`);
      assert.equal(get("ollama_tokens_generated_total", { model }), output, `${label}: output`);
      const [chunks, answers] = expected.chunks ?? [0, 0];
      assert.equal(
        get("ollama_time_to_first_token_seconds_count", at),
        chunks > 0 ? 1 : 0,
        `${label}: time to first token`,
      );
      assert.equal(
        get("ollama_time_to_first_answer_seconds_count", at),
        answers > 0 ? 1 : 0,
        `${label}: time to first answer`,
      );
      assert.equal(
        get("ollama_time_per_output_token_seconds_count", at),
        chunks > 1 ? 1 : 0,
        `${label}: time per output token`,
      );
      assert.equal(get("ollama_tool_calls_total", at), expected.tools ?? 0, `${label}: tools`);
      const finished = [...samples].filter(([series]) =>
        series.startsWith("ollama_finished_generations_total{")
      );
      assert.deepEqual(
        finished,
        expected.reason
          ? [[
            `ollama_finished_generations_total{model="${model}",endpoint="${endpoint}",reason="${expected.reason}"}`,
            1,
          ]]
          : [],
        `${label}: finished generations`,
      );
      const errors = [...samples].filter(([series, value]) =>
        series.startsWith("ollama_request_errors_total{") && value > 0
      );
      assert.deepEqual(
        errors,
        expected.error
          ? [[
            `ollama_request_errors_total{model="${model}",endpoint="${endpoint}",reason="upstream_error"}`,
            1,
          ]]
          : [],
        `${label}: errors`,
      );
    });
  } finally {
    await upstream.close();
  }
}

for (const split of ["events", "bytes", "random"] as const) {
  Deno.test({
    name: `real captures replayed (${split}): bodies unchanged, every number exact`,
    ignore: SAMPLES_ABSENT !== null,
    fn: async (t) => {
      for (const name of Object.keys(EXPECTED)) {
        await t.step(name, () => replay(name, split));
      }
    },
  });
}
