/**
 * Every API family through the exporter, in front of the simulator, on both generations of
 * Ollama's OpenAI chat stream (v0.24: `role` in every chunk; v0.32.6: `role` once, the finish in a
 * chunk of its own) and with bodies cut per line and at random: for a plain model, a thinking
 * model and a tool-calling model, streamed and not, every metric equals the sum of what the
 * simulator says it answered (`expectedReply`), computed without the exporter's code; and when
 * every generation fails mid-stream, each family counts a `stream_error` and an `error` finish.
 */

import assert from "node:assert/strict";
import { withHarness } from "./support/exporter_harness.ts";
import type { ExpectedReply, GenerationPath } from "./support/simulator/expected_reply.ts";
import type { OpenAiStreamFormat } from "./support/simulator/openai_stream_format.ts";
import type { SplitMode } from "./support/simulator/simulator_options.ts";

const MODELS = ["llama3.2:latest", "tiny-think:latest", "tiny-tools:latest"];
const WEATHER = [{ role: "user", content: "Weather in Paris?" }];
const TOOL = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object" } },
};

/**
 * Every family's requests for `model`: streamed and not, with tools where the API has them, and
 * token limits around 8 and of 3 (less than a thinking model's 5 thinking tokens: it then only
 * thinks, and its streams have a first token but no first answer).
 */
function requests(
  model: string,
  options: { cuts?: readonly number[] } = {},
): [GenerationPath, Record<string, unknown>][] {
  const list: [GenerationPath, Record<string, unknown>][] = [];
  const cases = (options.cuts ?? [0, 5]).flatMap((cut) => [[true, cut], [false, cut]] as const);
  for (const [stream, cut] of cases) {
    list.push(
      ["/api/generate", {
        model,
        prompt: "Why is the sky blue?",
        stream,
        options: { num_predict: 7 - cut },
      }],
      ["/api/chat", {
        model,
        messages: WEATHER,
        tools: [TOOL],
        stream,
        options: { num_predict: 9 - cut },
      }],
      // No stream_options: the exporter asks for usage itself.
      ["/v1/chat/completions", {
        model,
        messages: WEATHER,
        tools: [TOOL],
        stream,
        max_tokens: 8 - cut,
      }],
      ["/v1/completions", { model, prompt: "hi", stream, max_tokens: 6 - cut }],
      ["/v1/messages", {
        model,
        messages: WEATHER,
        tools: [{ name: "get_weather", input_schema: { type: "object" } }],
        max_tokens: 10 - cut,
        stream,
      }],
      ["/v1/responses", {
        model,
        input: WEATHER,
        tools: [{ type: "function", name: "get_weather", parameters: { type: "object" } }],
        max_output_tokens: 11 - cut,
        stream,
      }],
    );
  }
  return list;
}

/** The reason a family's wire value normalises to (the README's table), written out anew. */
function normalised(reply: ExpectedReply): string {
  const wire = reply.finishReason;
  const reason = ({
    end_turn: "stop",
    stop_sequence: "stop",
    max_tokens: "length",
    tool_use: "tool_calls",
    completed: "stop",
  } as Record<string, string>)[wire] ?? wire;
  return reason === "stop" && reply.toolCalls > 0 ? "tool_calls" : reason;
}

/** Adds `value` to the series `key` of `into`. */
function add(into: Map<string, number>, key: string, value: number): void {
  if (value !== 0) into.set(key, (into.get(key) ?? 0) + value);
}

const FAMILIES = [
  "ollama_tokens_processed_total",
  "ollama_tokens_generated_total",
  "ollama_time_to_first_token_seconds_count",
  "ollama_time_to_first_answer_seconds_count",
  "ollama_time_per_output_token_seconds_count",
  "ollama_tool_calls_total",
  "ollama_finished_generations_total",
  "ollama_request_errors_total",
];

/** The series of `FAMILIES` in a scrape, without zeros. */
function observed(samples: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of samples) {
    if (value !== 0 && FAMILIES.some((family) => key.startsWith(`${family}{`))) {
      out.set(key, value);
    }
  }
  return out;
}

async function drive(format: OpenAiStreamFormat, split: SplitMode): Promise<void> {
  await withHarness(
    { simulator: { models: MODELS, openAiStreamFormat: format, split } },
    async (harness) => {
      const expected = new Map<string, number>();
      for (const model of MODELS) {
        for (const [path, body] of requests(model)) {
          const reply = harness.simulator.expectedReply(path, body);
          const response = await fetch(`${harness.url}${path}`, {
            method: "POST",
            body: JSON.stringify(body),
          });
          assert.equal(response.status, 200, `${path} ${JSON.stringify(body)}`);
          await response.arrayBuffer();
          const at = `model="${model}",endpoint="${path}"`;
          add(expected, `ollama_tokens_processed_total{model="${model}"}`, reply.inputTokens);
          add(expected, `ollama_tokens_generated_total{model="${model}"}`, reply.outputTokens);
          if (reply.stream) {
            add(
              expected,
              `ollama_time_to_first_token_seconds_count{${at}}`,
              +(reply.outputChunks > 0),
            );
            add(
              expected,
              `ollama_time_to_first_answer_seconds_count{${at}}`,
              +(reply.answerChunks > 0),
            );
            add(
              expected,
              `ollama_time_per_output_token_seconds_count{${at}}`,
              +(reply.outputChunks > 1),
            );
          }
          add(expected, `ollama_tool_calls_total{${at}}`, reply.toolCalls);
          add(
            expected,
            `ollama_finished_generations_total{${at},reason="${normalised(reply)}"}`,
            1,
          );
        }
      }
      await harness.settle();
      const got = observed(await harness.scrape());
      assert.deepEqual(
        Object.fromEntries([...got].sort()),
        Object.fromEntries([...expected].sort()),
        `${format} ${split}`,
      );
      // The cases must exercise what they are meant to: thinking-only first tokens, tool calls,
      // both kinds of finish.
      const keys = [...expected.keys()].join("\n");
      for (const needle of ['reason="tool_calls"', 'reason="length"', "tool_calls_total"]) {
        assert.ok(keys.includes(needle), `the matrix covers ${needle}`);
      }
      const count = (prefix: string) =>
        [...expected].filter(([key]) => key.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
      assert.ok(
        count("ollama_time_to_first_answer_seconds_count") <
          count("ollama_time_to_first_token_seconds_count"),
        "some streams only think",
      );
    },
  );
}

for (const format of ["0.24", "0.32.6"] as const) {
  for (const split of ["line", "random"] as const) {
    Deno.test(`every family through the exporter, OpenAI stream ${format}, ${split} split: metrics exact`, () =>
      drive(format, split));
  }
}

Deno.test("a generation failing mid-stream counts a stream_error and an error finish on every family", async () => {
  await withHarness(
    { simulator: { models: MODELS, failMidStream: { afterChunks: 2 } } },
    async (harness) => {
      for (const [path, body] of requests("llama3.2:latest", { cuts: [0] })) {
        if (body.stream !== true) continue;
        const response = await fetch(`${harness.url}${path}`, {
          method: "POST",
          body: JSON.stringify(body),
        });
        assert.equal(response.status, 200, path);
        await response.arrayBuffer();
      }
      await harness.settle();
      const got = observed(await harness.scrape());
      for (
        const path of [
          "/api/generate",
          "/api/chat",
          "/v1/chat/completions",
          "/v1/completions",
          "/v1/messages",
          "/v1/responses",
        ]
      ) {
        const errors = [...got].filter(([key]) =>
          key.startsWith("ollama_request_errors_total{") && key.includes(`endpoint="${path}"`)
        );
        assert.equal(errors.length, 1, `${path}: ${JSON.stringify(errors)}`);
        assert.match(errors[0]![0], /reason="stream_error"/, path);
        assert.equal(errors[0]![1], 1, path);
        const finished = [...got].filter(([key]) =>
          key.startsWith("ollama_finished_generations_total{") && key.includes(`endpoint="${path}"`)
        );
        assert.deepEqual(
          finished.map(([key, value]) => [/reason="([^"]*)"/.exec(key)![1], value]),
          [["error", 1]],
          path,
        );
      }
    },
  );
});
