/**
 * Conformance of the exporter's numbers with a REAL Ollama, for every API family (issue #11):
 * client → exporter (in-process) → recording hop → Ollama. The hop records the exact bytes Ollama
 * sent for each request; the client must get the same bytes (the exporter is transparent), and
 * every request, error, token, chunk-timing, tool-call and finished-generation series on
 * `/metrics` must equal what a reference reading of those bytes gives (`notes/spec_11.md`).
 *
 * Ollama is `../shared/real-ollama` beside the project (started once for the file) or the one
 * `OLLAMA_TEST_URL` names; with neither, the file is skipped with one line. The models default to
 * the shared server's `tiny`, `tiny-think`, `tiny-tools` and `tiny-embed`; the `CONFORMANCE_*`
 * variables below name others. Every generation is capped (random weights rarely stop).
 */
import assert from "node:assert/strict";
import { deflateSync, gzipSync, zstdCompressSync } from "node:zlib";
import { ConformanceRun } from "./support/conformance_run.ts";
import { ExporterHarness } from "./support/exporter_harness.ts";
import {
  OLLAMA_TEST_URL,
  REAL_OLLAMA_ABSENT,
  type RealOllama,
  startRealOllama,
} from "./support/real_ollama.ts";
import { optionalEnv } from "./support/processes.ts";
import { RecordingHop } from "./support/recording_hop.ts";
import { readWire } from "./support/wire_reference.ts";

if (REAL_OLLAMA_ABSENT !== null) console.log(REAL_OLLAMA_ABSENT);

// Each model: the environment's (CONFORMANCE_*_MODEL), or the shared server's.
/** A completion model that cannot think (`think: true` gets 400). */
const PLAIN = optionalEnv("CONFORMANCE_MODEL") || "tiny";
/** A model that thinks. */
const THINK = optionalEnv("CONFORMANCE_THINK_MODEL") || "tiny-think";
/** A model that answers the weather question with a `get_weather` tool call. */
const TOOLS = optionalEnv("CONFORMANCE_TOOLS_MODEL") || "tiny-tools";
/** An embedding model. */
const EMBED = optionalEnv("CONFORMANCE_EMBED_MODEL") || "tiny-embed";
/** Whether the models are the shared server's, whose behaviour the scenario checks know. */
const STOCK = PLAIN === "tiny" && THINK === "tiny-think" && TOOLS === "tiny-tools" &&
  EMBED === "tiny-embed";
/** Whether Ollama is the shared v0.24.0 server, whose version-specific answers are checked. */
const SHARED = OLLAMA_TEST_URL === null;
/** A name no Ollama serves. */
const UNKNOWN = "no-such-model-e7f3";

/** The `model` label of a name Ollama serves: lower-cased, `:latest` when untagged. */
function label(name: string): string {
  const model = name.trim().toLowerCase();
  return model.slice(model.lastIndexOf("/") + 1).includes(":") ? model : `${model}:latest`;
}

/**
 * A check of what the scenario exercised (a tool call was made, the model thought): enforced with
 * the shared server's scripted models, only reported with models of one's own, which may decline.
 * The metric checks hold either way: they follow what Ollama actually sent.
 */
function scenario(condition: boolean, message: string): void {
  if (STOCK) assert.ok(condition, message);
  else if (!condition) console.warn(`scenario not exercised with these models: ${message}`);
}

const PROMPT = "Why is the sky blue?";
const WEATHER = "What is the weather in Paris?";
const TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the current weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "City name" } },
      required: ["city"],
    },
  },
};
const RESPONSES_TOOL = {
  type: "function",
  name: "get_weather",
  description: "Get the current weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const MESSAGES_TOOL = {
  name: "get_weather",
  description: "Get the current weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
/** Token limits: short answers, room for a tool call. */
const SHORT = 8;
const ROOMY = 48;
/**
 * Native options: a limit and greedy decoding (`temperature: 0` everywhere), so the shared server's
 * random-weight models answer the same way each run and never stop before their first token.
 */
const NATIVE_SHORT = { num_predict: SHORT, temperature: 0, seed: 42 };
const NATIVE_ROOMY = { num_predict: ROOMY, temperature: 0, seed: 42 };

/** The real Ollama, one for the whole file. */
const real: RealOllama | null = REAL_OLLAMA_ABSENT === null ? await startRealOllama() : null;
if (real !== null && real.pid !== null) {
  // Safety net when a filter skips the last test: never leave the server running.
  const pid = real.pid;
  globalThis.addEventListener("unload", () => {
    try {
      if (real.alive()) Deno.kill(pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  });
}

/** Ollama's base URL (the file's server). */
function ollama(): string {
  assert.ok(real !== null, "a real Ollama");
  return real.url;
}

/** Runs `body` with a fresh hop and exporter in front of the file's Ollama; verifies at the end. */
async function conformance(body: (run: ConformanceRun) => Promise<void>): Promise<void> {
  const hop = RecordingHop.start(ollama());
  try {
    const harness = await ExporterHarness.start({ upstream: hop.url });
    try {
      const run = new ConformanceRun(harness, hop);
      await body(run);
      await run.verify();
    } finally {
      await harness.close();
    }
  } finally {
    await hop.close();
  }
}

/** A request straight to Ollama (no hop, no exporter): status and body bytes. */
async function direct(
  path: string,
  body: string | Uint8Array,
  options: { headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Uint8Array }> {
  const response = await fetch(ollama() + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...options.headers },
    body: typeof body === "string" ? body : new Uint8Array(body),
  });
  return { status: response.status, body: await response.bytes() };
}

/** Per-answer values (ids, clocks, Ollama's durations) replaced, so two answers compare. */
function stable(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes)
    .replaceAll(/"(resp|msg|rs|fc|call|chatcmpl|cmpl|req)([-_])[A-Za-z0-9_]+"/g, '"$1$2N"')
    .replaceAll(/"(created|created_at|completed_at)":\d+/g, '"$1":0')
    .replaceAll(/"created_at":"[^"]+"/g, '"created_at":"T"')
    .replaceAll(/"(total|load|prompt_eval|eval)_duration":\d+/g, '"$1_duration":0');
}

const ignore = REAL_OLLAMA_ABSENT !== null;

Deno.test({
  name: "real Ollama families: native /api/generate (stream, JSON, thinking, unsupported think, " +
    "load and unload)",
  ignore,
  fn: () =>
    conformance(async (run) => {
      const model = label(PLAIN);
      const stream = await run.send("generate stream", {
        path: "/api/generate",
        body: { model: PLAIN, prompt: PROMPT, options: NATIVE_SHORT },
        model,
      });
      assert.equal(stream.status, 200, stream.text);
      assert.ok(stream.facts.streaming && stream.facts.terminated, "a whole NDJSON stream");
      assert.ok(stream.facts.outputChunks >= 1, "the stream carried output");
      assert.equal(stream.facts.thinkingChunks, 0);
      const whole = await run.send("generate JSON", {
        path: "/api/generate",
        body: { model: PLAIN, prompt: PROMPT, stream: false, options: NATIVE_SHORT },
        model,
      });
      assert.equal(whole.status, 200, whole.text);
      assert.ok(!whole.facts.streaming && whole.facts.outputTokens !== null);
      for (const streaming of [true, false]) {
        const thinking = await run.send(`generate thinking, stream ${streaming}`, {
          path: "/api/generate",
          body: {
            model: THINK,
            prompt: PROMPT,
            think: true,
            stream: streaming,
            options: NATIVE_SHORT,
          },
          model: label(THINK),
        });
        assert.equal(thinking.status, 200, thinking.text);
        if (streaming) scenario(thinking.facts.thinkingChunks >= 1, "tiny-think thinks");
      }
      const refused = await run.send("generate think on a model that cannot", {
        path: "/api/generate",
        body: { model: PLAIN, prompt: PROMPT, think: true, options: NATIVE_SHORT },
        model,
      });
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.text, /does not support thinking/);
      // No prompt: Ollama only loads the model (`done_reason: load`), or unloads it.
      for (const [action, extra] of [["load", {}], ["unload", { keep_alive: 0 }]] as const) {
        const only = await run.send(`generate, ${action} only`, {
          path: "/api/generate",
          body: { model: PLAIN, options: NATIVE_SHORT, ...extra },
          model,
        });
        assert.equal(only.status, 200, only.text);
        assert.equal(only.facts.rawReason, action);
      }
    }),
});

Deno.test({
  name: "real Ollama families: native /api/chat (stream, JSON, thinking, tools, unsupported think)",
  ignore,
  fn: () =>
    conformance(async (run) => {
      const messages = [{ role: "user", content: PROMPT }];
      for (const stream of [true, false]) {
        const plain = await run.send(`chat, stream ${stream}`, {
          path: "/api/chat",
          body: { model: PLAIN, messages, stream, options: NATIVE_SHORT },
          model: label(PLAIN),
        });
        assert.equal(plain.status, 200, plain.text);
        assert.equal(plain.facts.streaming, stream);
        const thinking = await run.send(`chat thinking, stream ${stream}`, {
          path: "/api/chat",
          body: { model: THINK, messages, think: true, stream, options: NATIVE_SHORT },
          model: label(THINK),
        });
        assert.equal(thinking.status, 200, thinking.text);
        if (stream) {
          scenario(thinking.facts.thinkingChunks >= 1, "tiny-think thinks");
          scenario(thinking.facts.answerChunks === 0, "tiny-think only thinks within the limit");
        }
        const tools = await run.send(`chat tools, stream ${stream}`, {
          path: "/api/chat",
          body: {
            model: TOOLS,
            messages: [{ role: "user", content: WEATHER }],
            tools: [TOOL],
            stream,
            options: NATIVE_ROOMY,
          },
          model: label(TOOLS),
        });
        assert.equal(tools.status, 200, tools.text);
        scenario(tools.facts.toolCalls === 1, "tiny-tools calls get_weather once");
        // Native Ollama says `stop` after a tool call; the exporter reports `tool_calls`.
        scenario(tools.facts.rawReason === "stop", "native done_reason after a tool call");
        scenario(tools.facts.finishReason === "tool_calls", "normalised to tool_calls");
      }
      const refused = await run.send("chat think on a model that cannot", {
        path: "/api/chat",
        body: { model: PLAIN, messages, think: true, options: NATIVE_SHORT },
        model: label(PLAIN),
      });
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.text, /does not support thinking/);
    }),
});

Deno.test({
  name: "real Ollama families: embeddings (/api/embed, /v1/embeddings)",
  ignore,
  fn: () =>
    conformance(async (run) => {
      const native = await run.send("api embed", {
        path: "/api/embed",
        body: { model: EMBED, input: ["hello world", "the sky is blue"] },
        model: label(EMBED),
      });
      assert.equal(native.status, 200, native.text);
      assert.ok((native.facts.promptTokens ?? 0) > 0, "Ollama counted the input tokens");
      assert.equal(native.facts.finishReason, null, "an embedding is no generation");
      const openai = await run.send("v1 embeddings", {
        path: "/v1/embeddings",
        body: { model: EMBED, input: "hello world" },
        model: label(EMBED),
      });
      assert.equal(openai.status, 200, openai.text);
      assert.ok((openai.facts.promptTokens ?? 0) > 0, "usage.prompt_tokens");
    }),
});

Deno.test({
  name: "real Ollama families: OpenAI /v1/chat/completions (streams with and without usage, " +
    "JSON, reasoning, tools)",
  ignore,
  fn: () =>
    conformance(async (run) => {
      const model = label(PLAIN);
      const base = {
        model: PLAIN,
        messages: [{ role: "user", content: PROMPT }],
        max_tokens: SHORT,
        temperature: 0,
        seed: 7,
      };
      const asked = await run.send("chat stream, include_usage true", {
        path: "/v1/chat/completions",
        body: { ...base, stream: true, stream_options: { include_usage: true } },
        model,
      });
      assert.equal(asked.status, 200, asked.text);
      assert.ok(asked.facts.outputTokens !== null && asked.facts.terminated);
      for (
        const [name, extra] of [
          ["no stream_options", {}],
          ["include_usage false", { stream_options: { include_usage: false } }],
        ] as const
      ) {
        const injected = await run.send(`chat stream, ${name}`, {
          path: "/v1/chat/completions",
          body: { ...base, stream: true, ...extra },
          model,
          injected: true,
        });
        assert.equal(injected.status, 200, injected.text);
        assert.ok(
          !injected.text.includes('"usage"'),
          "the client sees no usage it did not ask for",
        );
        // The client's stream is the one Ollama sends when not asked for usage (greedy decoding).
        const plain = await direct(
          "/v1/chat/completions",
          JSON.stringify({ ...base, stream: true, ...extra }),
        );
        assert.equal(stable(injected.clientBody), stable(plain.body), name);
        // Counted from the usage chunk the exporter asked for: the same as when the client asks.
        assert.equal(injected.facts.outputTokens, asked.facts.outputTokens, name);
      }
      const whole = await run.send("chat JSON", {
        path: "/v1/chat/completions",
        body: base,
        model,
      });
      assert.equal(whole.status, 200, whole.text);
      for (const stream of [true, false]) {
        const reasoning = await run.send(`chat reasoning, stream ${stream}`, {
          path: "/v1/chat/completions",
          body: {
            model: THINK,
            messages: [{ role: "user", content: PROMPT }],
            reasoning_effort: "high",
            max_tokens: SHORT,
            temperature: 0,
            stream,
          },
          model: label(THINK),
          injected: stream,
        });
        assert.equal(reasoning.status, 200, reasoning.text);
        if (stream) scenario(reasoning.facts.thinkingChunks >= 1, "delta.reasoning chunks");
        const tools = await run.send(`chat tools, stream ${stream}`, {
          path: "/v1/chat/completions",
          body: {
            model: TOOLS,
            messages: [{ role: "user", content: WEATHER }],
            tools: [TOOL],
            max_tokens: ROOMY,
            temperature: 0,
            stream,
          },
          model: label(TOOLS),
          injected: stream,
        });
        assert.equal(tools.status, 200, tools.text);
        scenario(tools.facts.toolCalls === 1, "one tool call with an id");
        scenario(tools.facts.rawReason === "tool_calls", "finish_reason tool_calls");
      }
      const refused = await run.send("chat reasoning on a model that cannot", {
        path: "/v1/chat/completions",
        body: { ...base, reasoning_effort: "high" },
        model,
      });
      assert.equal(refused.status, 400, refused.text);
    }),
});

Deno.test({
  name: "real Ollama families: OpenAI /v1/completions (streams with and without usage, JSON)",
  ignore,
  fn: () =>
    conformance(async (run) => {
      const model = label(PLAIN);
      const base = { model: PLAIN, prompt: "Once upon a time", max_tokens: SHORT, temperature: 0 };
      const asked = await run.send("completions stream, include_usage true", {
        path: "/v1/completions",
        body: { ...base, stream: true, stream_options: { include_usage: true } },
        model,
      });
      assert.equal(asked.status, 200, asked.text);
      assert.ok(asked.facts.outputTokens !== null, "the last usage counts");
      const injected = await run.send("completions stream, no stream_options", {
        path: "/v1/completions",
        body: { ...base, stream: true },
        model,
        injected: true,
      });
      assert.equal(injected.status, 200, injected.text);
      assert.ok(!injected.text.includes('"usage"'), "the zero usages are stripped too");
      const plain = await direct("/v1/completions", JSON.stringify({ ...base, stream: true }));
      assert.equal(stable(injected.clientBody), stable(plain.body));
      assert.equal(injected.facts.outputTokens, asked.facts.outputTokens);
      const whole = await run.send("completions JSON", {
        path: "/v1/completions",
        body: base,
        model,
      });
      assert.equal(whole.status, 200, whole.text);
    }),
});

Deno.test({
  name: "real Ollama families: Responses /v1/responses (stream, JSON, reasoning, tools)",
  ignore,
  fn: () =>
    conformance(async (run) => {
      for (const stream of [true, false]) {
        const plain = await run.send(`responses, stream ${stream}`, {
          path: "/v1/responses",
          body: { model: PLAIN, input: PROMPT, max_output_tokens: SHORT, temperature: 0, stream },
          model: label(PLAIN),
        });
        assert.equal(plain.status, 200, plain.text);
        assert.ok(plain.facts.terminated && plain.facts.outputTokens !== null);
        const reasoning = await run.send(`responses reasoning, stream ${stream}`, {
          path: "/v1/responses",
          body: {
            model: THINK,
            input: [{ role: "user", content: PROMPT }],
            reasoning: { effort: "high" },
            max_output_tokens: SHORT,
            temperature: 0,
            stream,
          },
          model: label(THINK),
        });
        assert.equal(reasoning.status, 200, reasoning.text);
        if (stream) scenario(reasoning.facts.thinkingChunks >= 1, "reasoning summary deltas");
        const tools = await run.send(`responses tools, stream ${stream}`, {
          path: "/v1/responses",
          body: {
            model: TOOLS,
            input: WEATHER,
            tools: [RESPONSES_TOOL],
            max_output_tokens: ROOMY,
            temperature: 0,
            stream,
          },
          model: label(TOOLS),
        });
        assert.equal(tools.status, 200, tools.text);
        scenario(tools.facts.toolCalls === 1, "one function_call item");
        scenario(tools.facts.finishReason === "tool_calls", "completed with a call: tool_calls");
      }
    }),
});

/** Other compressed requests: what Ollama makes of them varies, the exporter must not. */
const COMPRESSED: readonly {
  name: string;
  path: string;
  encoding: string;
  compress: (text: string) => Uint8Array;
  body: Record<string, unknown>;
}[] = [
  {
    name: "chat stream zstd (no usage can be asked for)",
    path: "/v1/chat/completions",
    encoding: "zstd",
    compress: zstdCompressSync,
    body: {
      model: PLAIN,
      messages: [{ role: "user", content: PROMPT }],
      max_tokens: SHORT,
      temperature: 0,
      stream: true,
    },
  },
  {
    name: "native chat zstd",
    path: "/api/chat",
    encoding: "zstd",
    compress: zstdCompressSync,
    body: {
      model: PLAIN,
      messages: [{ role: "user", content: PROMPT }],
      stream: false,
      options: { num_predict: SHORT, temperature: 0 },
    },
  },
  {
    name: "messages deflate",
    path: "/v1/messages?beta=true",
    encoding: "deflate",
    compress: deflateSync,
    body: {
      model: PLAIN,
      max_tokens: SHORT,
      temperature: 0,
      messages: [{ role: "user", content: PROMPT }],
    },
  },
];

Deno.test({
  name: "real Ollama families: compressed request bodies (zstd, gzip, deflate) reach Ollama " +
    "unchanged and are counted under their model",
  ignore,
  fn: () =>
    conformance(async (run) => {
      // The model label of every answer below is read from the compressed body.
      const model = label(PLAIN);
      const request = (stream: boolean) =>
        JSON.stringify({
          model: PLAIN,
          input: PROMPT,
          max_output_tokens: SHORT,
          temperature: 0,
          stream,
        });
      for (const stream of [false, true]) {
        const zstd = await run.send(`responses zstd, stream ${stream}`, {
          path: "/v1/responses",
          body: zstdCompressSync(request(stream)),
          headers: { "content-encoding": "zstd" },
          model,
        });
        const plain = await direct("/v1/responses", zstdCompressSync(request(stream)), {
          headers: { "content-encoding": "zstd" },
        });
        assert.equal(zstd.status, plain.status, zstd.text);
        // Ollama v0.24.0 decodes `Content-Encoding: zstd` on /v1/* (what Codex sends).
        if (SHARED) assert.equal(zstd.status, 200, zstd.text);
        assert.equal(stable(zstd.clientBody), stable(plain.body));
        if (zstd.status === 200) assert.ok(zstd.facts.outputTokens !== null, "counted");
      }
      const gzip = await run.send("responses gzip", {
        path: "/v1/responses",
        body: gzipSync(request(false)),
        headers: { "content-encoding": "gzip" },
        model,
      });
      const plain = await direct("/v1/responses", gzipSync(request(false)), {
        headers: { "content-encoding": "gzip" },
      });
      assert.equal(gzip.status, plain.status);
      // gzip Ollama v0.24.0 does not decode: 400, whose body the client gets byte for byte.
      if (SHARED) assert.equal(gzip.status, 400, gzip.text);
      assert.equal(stable(gzip.clientBody), stable(plain.body));
      for (const compressed of COMPRESSED) {
        const text = JSON.stringify(compressed.body);
        const headers = { "content-encoding": compressed.encoding };
        const sent = await run.send(compressed.name, {
          path: compressed.path,
          body: compressed.compress(text),
          headers,
          model,
        });
        const straight = await direct(compressed.path, compressed.compress(text), { headers });
        assert.equal(sent.status, straight.status, `${compressed.name}: ${sent.text}`);
        assert.equal(stable(sent.clientBody), stable(straight.body), compressed.name);
      }
    }),
});

Deno.test({
  name: "real Ollama families: Anthropic /v1/messages?beta=true (stream, JSON, thinking, tools)",
  ignore,
  fn: () =>
    conformance(async (run) => {
      const path = "/v1/messages?beta=true";
      for (const stream of [true, false]) {
        const plain = await run.send(`messages, stream ${stream}`, {
          path,
          body: {
            model: PLAIN,
            max_tokens: SHORT,
            temperature: 0,
            messages: [{ role: "user", content: PROMPT }],
            stream,
          },
          model: label(PLAIN),
        });
        assert.equal(plain.status, 200, plain.text);
        assert.equal(plain.facts.endpoint, "/v1/messages");
        assert.ok(plain.facts.terminated && plain.facts.outputTokens !== null);
        const thinking = await run.send(`messages thinking, stream ${stream}`, {
          path,
          body: {
            model: THINK,
            max_tokens: SHORT,
            temperature: 0,
            thinking: { type: "enabled", budget_tokens: 1024 },
            messages: [{ role: "user", content: PROMPT }],
            stream,
          },
          model: label(THINK),
        });
        assert.equal(thinking.status, 200, thinking.text);
        if (stream) scenario(thinking.facts.thinkingChunks >= 1, "thinking_delta chunks");
        const tools = await run.send(`messages tools, stream ${stream}`, {
          path,
          body: {
            model: TOOLS,
            max_tokens: ROOMY,
            temperature: 0,
            tools: [MESSAGES_TOOL],
            messages: [{ role: "user", content: WEATHER }],
            stream,
          },
          model: label(TOOLS),
        });
        assert.equal(tools.status, 200, tools.text);
        scenario(tools.facts.toolCalls === 1, "one tool_use block");
        scenario(tools.facts.rawReason === "tool_use", "stop_reason tool_use");
      }
      if (STOCK) {
        // message_start's input_tokens is an estimate; the counted number is message_delta's.
        const stream = await run.send("messages stream, estimate differs", {
          path,
          body: {
            model: PLAIN,
            max_tokens: SHORT,
            temperature: 0,
            messages: [{ role: "user", content: PROMPT }],
            stream: true,
          },
          model: label(PLAIN),
        });
        const estimate = /"message_start".*?"input_tokens":(\d+)/.exec(stream.text)?.[1];
        assert.notEqual(Number(estimate), stream.facts.promptTokens, "estimate and count differ");
      }
    }),
});

/** Every family's path, and a body naming `model` with a token limit. */
const FAMILIES: readonly { path: string; body: (model: string) => Record<string, unknown> }[] = [
  {
    path: "/api/generate",
    body: (model) => ({ model, prompt: "hi", options: { num_predict: 3 } }),
  },
  {
    path: "/api/chat",
    body: (model) => ({
      model,
      messages: [{ role: "user", content: "hi" }],
      options: { num_predict: 3 },
    }),
  },
  { path: "/api/embed", body: (model) => ({ model, input: "hi" }) },
  {
    path: "/v1/chat/completions",
    body: (model) => ({
      model,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    }),
  },
  { path: "/v1/completions", body: (model) => ({ model, prompt: "hi", max_tokens: 3 }) },
  { path: "/v1/embeddings", body: (model) => ({ model, input: "hi" }) },
  {
    path: "/v1/responses",
    body: (model) => ({ model, input: "hi", max_output_tokens: 3, stream: true }),
  },
  {
    path: "/v1/messages?beta=true",
    body: (model) => ({
      model,
      max_tokens: 3,
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    }),
  },
];

Deno.test({
  name: "real Ollama families: an unknown model (404) and a malformed body (400) on each family",
  ignore,
  fn: () =>
    conformance(async (run) => {
      for (const family of FAMILIES) {
        const unknown = await run.send(`${family.path}: unknown model`, {
          path: family.path,
          body: family.body(UNKNOWN),
          // A name Ollama never vouched for is reported as `other`.
          model: "other",
        });
        assert.equal(unknown.status, 404, unknown.text);
        assert.match(unknown.text, new RegExp(UNKNOWN));
        const malformed = await run.send(`${family.path}: malformed JSON`, {
          path: family.path,
          body: '{"messages": [',
          model: "",
        });
        assert.equal(malformed.status, 400, malformed.text);
      }
    }),
});

/** Streams of each family, and the first line that must not reach the exporter. */
const CUT_STREAMS: readonly { name: string; path: string; body: unknown; cutBefore: string }[] = [
  {
    name: "generate, before its final chunk",
    path: "/api/generate",
    body: { model: PLAIN, prompt: PROMPT, options: NATIVE_SHORT },
    cutBefore: '"done":true',
  },
  {
    name: "chat, before its final chunk",
    path: "/api/chat",
    body: {
      model: PLAIN,
      messages: [{ role: "user", content: PROMPT }],
      options: NATIVE_SHORT,
    },
    cutBefore: '"done":true',
  },
  {
    name: "chat completions, before usage and [DONE]",
    path: "/v1/chat/completions",
    body: {
      model: PLAIN,
      messages: [{ role: "user", content: PROMPT }],
      max_tokens: SHORT,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    },
    cutBefore: '"choices":[]',
  },
  {
    name: "completions, before usage and [DONE]",
    path: "/v1/completions",
    body: {
      model: PLAIN,
      prompt: PROMPT,
      max_tokens: SHORT,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    },
    cutBefore: '"choices":[]',
  },
  {
    name: "responses, before response.completed",
    path: "/v1/responses",
    body: { model: PLAIN, input: PROMPT, max_output_tokens: SHORT, temperature: 0, stream: true },
    cutBefore: "event: response.completed",
  },
  {
    name: "messages, before message_delta and message_stop",
    path: "/v1/messages?beta=true",
    body: {
      model: PLAIN,
      max_tokens: SHORT,
      temperature: 0,
      messages: [{ role: "user", content: PROMPT }],
      stream: true,
    },
    cutBefore: "event: message_delta",
  },
];

Deno.test({
  name: "real Ollama families: a stream that ends before its terminator is a stream_error",
  ignore,
  fn: () =>
    conformance(async (run) => {
      for (const cut of CUT_STREAMS) {
        const sent = await run.send(cut.name, { ...cut, model: label(PLAIN) });
        assert.equal(sent.status, 200, sent.text);
        assert.ok(sent.facts.streaming && !sent.facts.terminated, `${cut.name}: cut`);
        assert.ok(sent.facts.outputChunks >= 1, `${cut.name}: output came before the cut`);
        // (/v1/completions puts a zero usage in every chunk: no count either.)
        assert.equal(sent.facts.outputTokens ?? 0, 0, `${cut.name}: no counts came`);
        assert.equal(sent.facts.finishReason, "error");
      }
    }),
});

/**
 * Kills the model runners of the file's own Ollama (its child processes), as a runner crash
 * would; returns how many. Linux only (it reads /proc).
 */
function killRunners(): number {
  assert.ok(real !== null && real.pid !== null, "an Ollama of our own");
  let killed = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // `pid (comm) state ppid ...`: the parent follows the state, after the last ')'.
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent !== real.pid) continue;
      if (!Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).includes("runner")) continue;
      Deno.kill(Number(entry.name), "SIGKILL");
      killed++;
    } catch {
      // Exited meanwhile.
    }
  }
  return killed;
}

/** A chunk watcher that kills the runners once the client has received two output chunks. */
function crashAfterOutput(path: string): (received: string) => boolean {
  const type = path.startsWith("/api/") ? "application/x-ndjson" : "text/event-stream";
  return (received) => {
    const end = received.lastIndexOf(type === "text/event-stream" ? "\n\n" : "\n");
    if (end < 0) return false;
    const facts = readWire({
      target: path,
      status: 200,
      contentType: type,
      body: new TextEncoder().encode(received.slice(0, end + 1)),
    });
    if (facts.outputChunks < 2) return false;
    assert.ok(killRunners() >= 1, "a runner to kill");
    return true;
  };
}

/** Long generations of each family (capped all the same), to be cut short by a runner crash. */
const LONG = 1500;
const CRASHES: readonly { path: string; body: Record<string, unknown> }[] = [
  {
    path: "/api/generate",
    body: { model: PLAIN, prompt: PROMPT, options: { num_predict: LONG, temperature: 0 } },
  },
  {
    path: "/api/chat",
    body: {
      model: PLAIN,
      messages: [{ role: "user", content: PROMPT }],
      options: { num_predict: LONG, temperature: 0 },
    },
  },
  {
    path: "/v1/chat/completions",
    body: {
      model: PLAIN,
      messages: [{ role: "user", content: PROMPT }],
      max_tokens: LONG,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    },
  },
  {
    path: "/v1/completions",
    body: { model: PLAIN, prompt: PROMPT, max_tokens: LONG, temperature: 0, stream: true },
  },
  {
    path: "/v1/responses",
    body: { model: PLAIN, input: PROMPT, max_output_tokens: LONG, temperature: 0, stream: true },
  },
  {
    path: "/v1/messages?beta=true",
    body: {
      model: PLAIN,
      max_tokens: LONG,
      temperature: 0,
      messages: [{ role: "user", content: PROMPT }],
      stream: true,
    },
  },
];

Deno.test({
  name: "real Ollama families: a model runner that dies mid-stream is a stream_error",
  // Our own server only: its runners are ours to kill.
  ignore: real === null || real.pid === null || Deno.build.os !== "linux",
  fn: () =>
    conformance(async (run) => {
      for (const crash of CRASHES) {
        const sent = await run.send(`${crash.path}: runner killed`, {
          ...crash,
          model: label(PLAIN),
          onChunk: crashAfterOutput(crash.path),
          // The stream is cut before Ollama's usage; nothing to inject or strip on completions.
          injected: crash.path === "/v1/completions",
        });
        assert.equal(sent.status, 200, sent.text);
        assert.ok(sent.facts.outputChunks >= 2, `${crash.path}: output before the crash`);
        assert.ok(sent.facts.streamError, `${crash.path}: the stream broke`);
        assert.equal(sent.facts.finishReason, "error", crash.path);
        // Ollama v0.24.0 reports a runner crash with an error line on the native API only; the
        // OpenAI, Responses and Messages streams just end without their terminator.
        const native = crash.path.startsWith("/api/");
        assert.equal(sent.facts.errorEvents, native ? 1 : 0, crash.path);
        assert.equal(sent.facts.terminated, false, crash.path);
      }
    }),
});

Deno.test({
  name: "real Ollama families: the shared server stops",
  ignore: real === null || real.pid === null,
  fn: async () => {
    await real?.close();
  },
});
