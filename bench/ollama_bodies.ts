/**
 * Response bodies in Ollama's exact wire format, built once for the benchmark upstream and the
 * hot-path benchmarks: a non-streaming `/api/generate` object, a 21-chunk `/api/chat` NDJSON
 * stream (20 intermediate chunks and the final chunk with Ollama's metrics), an SSE
 * `/v1/chat/completions` stream, `/api/tags`, `/api/version` and a large `/api/embed` object.
 * Field order follows Ollama's Go structs; durations are integer nanoseconds.
 *
 * @module
 */

/** The model every benchmark request names. */
export const BENCH_MODEL = "bench:latest";

/** The fixed `created_at` of precomputed chunks (Go's RFC3339Nano, UTC). */
export const CREATED_AT = "2026-01-02T03:04:05.123456789Z";

/** The fixed `created` (Unix seconds) of precomputed OpenAI-compatible chunks. */
export const CREATED_UNIX = 1767323045;

/** The 20 output tokens of every generation. */
export const TOKENS: readonly string[] = [
  "The",
  " sky",
  " looks",
  " blue",
  " because",
  " air",
  " molecules",
  " scatter",
  " short",
  " blue",
  " wavelengths",
  " of",
  " sunlight",
  " far",
  " more",
  " than",
  " long",
  " red",
  " ones",
  ".",
];

/** Ollama's metrics of the final chunk, in Go field order (nanoseconds and token counts). */
export const FINAL_METRICS = {
  total_duration: 1_234_567_890,
  load_duration: 12_345_678,
  prompt_eval_count: 26,
  prompt_eval_duration: 123_456_789,
  eval_count: TOKENS.length,
  eval_duration: 987_654_321,
} as const;

/** Request bodies the benchmark clients send. */
export const REQUEST_BODIES = {
  generate: JSON.stringify({ model: BENCH_MODEL, prompt: "Why is the sky blue?", stream: false }),
  chat: JSON.stringify({
    model: BENCH_MODEL,
    messages: [{ role: "user", content: "Why is the sky blue?" }],
    stream: true,
  }),
  openai: JSON.stringify({
    model: BENCH_MODEL,
    messages: [{ role: "user", content: "Why is the sky blue?" }],
    stream: true,
  }),
  embed: JSON.stringify({ model: BENCH_MODEL, input: "Why is the sky blue?" }),
} as const;

const encoder = new TextEncoder();

/** Formats epoch milliseconds (fractions kept to the microsecond) as Go's RFC3339Nano in UTC. */
export function goTime(epochMs: number): string {
  const whole = Math.floor(epochMs);
  const micros = Math.min(999, Math.round((epochMs - whole) * 1000));
  const date = new Date(whole);
  const nanos = date.getUTCMilliseconds() * 1_000_000 + micros * 1000;
  const fraction = String(nanos).padStart(9, "0").replace(/0+$/, "");
  return `${date.toISOString().slice(0, 19)}${fraction ? `.${fraction}` : ""}Z`;
}

/**
 * Reads a `created_at` written by {@linkcode goTime} back as epoch milliseconds with microsecond
 * precision; `NaN` when it is not in that layout.
 */
export function parseGoTime(text: string): number {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!match) return NaN;
  const seconds = Date.parse(`${match[1]}Z`);
  const fraction = (match[2] ?? "").padEnd(9, "0");
  return seconds + Number(fraction) / 1e6;
}

/** One intermediate `/api/chat` chunk, newline included. */
export function chatChunk(token: string, createdAt: string = CREATED_AT): string {
  return JSON.stringify({
    model: BENCH_MODEL,
    created_at: createdAt,
    message: { role: "assistant", content: token },
    done: false,
  }) + "\n";
}

/** The final `/api/chat` chunk (`done_reason` before `done`, then the metrics), newline included. */
export function chatFinalChunk(createdAt: string = CREATED_AT): string {
  return JSON.stringify({
    model: BENCH_MODEL,
    created_at: createdAt,
    message: { role: "assistant", content: "" },
    done_reason: "stop",
    done: true,
    ...FINAL_METRICS,
  }) + "\n";
}

/** The intermediate and final chunks of a streamed `/api/chat` answer, as bytes. */
export function chatStreamChunks(): Uint8Array<ArrayBuffer>[] {
  return [...TOKENS.map((token) => chatChunk(token)), chatFinalChunk()].map((line) =>
    encoder.encode(line)
  );
}

/** One intermediate `/api/generate` chunk, newline included. */
export function generateChunk(token: string, createdAt: string = CREATED_AT): string {
  return JSON.stringify({
    model: BENCH_MODEL,
    created_at: createdAt,
    response: token,
    done: false,
  }) + "\n";
}

/**
 * A final `/api/generate` object (`done`, `done_reason`, `context`, then the metrics) carrying
 * `text`; with `newline` it ends in `\n` as a streamed line does (a non-streamed answer does not).
 */
export function generateFinal(text: string, options: { newline: boolean }): string {
  return JSON.stringify({
    model: BENCH_MODEL,
    created_at: CREATED_AT,
    response: text,
    done: true,
    done_reason: "stop",
    context: [128006, 882, 128007, 271, 10445, 374, 279, 13180, 6437, 30],
    ...FINAL_METRICS,
  }) + (options.newline ? "\n" : "");
}

/** The non-streaming `/api/generate` answer. */
export function generateBody(): Uint8Array<ArrayBuffer> {
  return encoder.encode(generateFinal(TOKENS.join(""), { newline: false }));
}

/** The intermediate and final chunks of a streamed `/api/generate` answer, as bytes. */
export function generateStreamChunks(): Uint8Array<ArrayBuffer>[] {
  return [...TOKENS.map((token) => generateChunk(token)), generateFinal("", { newline: true })]
    .map((line) => encoder.encode(line));
}

function openAiFrame(choices: unknown[], usage?: Record<string, number>): string {
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-917",
      object: "chat.completion.chunk",
      created: CREATED_UNIX,
      model: BENCH_MODEL,
      system_fingerprint: "fp_ollama",
      choices,
      ...(usage ? { usage } : {}),
    })
  }\n\n`;
}

function openAiChunk(delta: Record<string, string>, finishReason: string | null): string {
  return openAiFrame([{ index: 0, delta, finish_reason: finishReason }]);
}

/**
 * The frames of a streamed `/v1/chat/completions` answer: one per token (`role` only in the
 * first delta), the finish chunk (`delta:{}`, `finish_reason:"stop"`), the usage chunk when
 * `includeUsage`, and `data: [DONE]`.
 */
export function openAiStreamChunks(options: { includeUsage: boolean }): Uint8Array<ArrayBuffer>[] {
  const frames = TOKENS.map((token, i) =>
    openAiChunk(i === 0 ? { role: "assistant", content: token } : { content: token }, null)
  );
  frames.push(openAiChunk({}, "stop"));
  if (options.includeUsage) {
    const usage = {
      prompt_tokens: FINAL_METRICS.prompt_eval_count,
      completion_tokens: FINAL_METRICS.eval_count,
      total_tokens: FINAL_METRICS.prompt_eval_count + FINAL_METRICS.eval_count,
    };
    frames.push(openAiFrame([], usage));
  }
  frames.push("data: [DONE]\n\n");
  return frames.map((frame) => encoder.encode(frame));
}

/** One Server-Sent Event with an `event:` line, as the Messages and Responses APIs send. */
function namedEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A streamed `/v1/messages` answer in Ollama's shape: one text block of the tokens. */
export function messagesStreamChunks(): Uint8Array<ArrayBuffer>[] {
  const usage = {
    input_tokens: FINAL_METRICS.prompt_eval_count,
    output_tokens: FINAL_METRICS.eval_count,
  };
  const frames = [
    namedEvent("message_start", {
      type: "message_start",
      message: {
        id: "msg_0",
        type: "message",
        role: "assistant",
        model: BENCH_MODEL,
        content: [],
        usage: { input_tokens: 6, output_tokens: 0 },
      },
    }),
    namedEvent("content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    }),
    ...TOKENS.map((text) =>
      namedEvent("content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text },
      })
    ),
    namedEvent("content_block_stop", { type: "content_block_stop", index: 0 }),
    namedEvent("message_delta", {
      type: "message_delta",
      delta: { stop_reason: "end_turn" },
      usage,
    }),
    namedEvent("message_stop", { type: "message_stop" }),
  ];
  return frames.map((frame) => encoder.encode(frame));
}

/** A streamed `/v1/responses` answer in Ollama's shape: one message of the tokens. */
export function responsesStreamChunks(): Uint8Array<ArrayBuffer>[] {
  let sequence = 0;
  const event = (type: string, data: Record<string, unknown>) =>
    namedEvent(type, { ...data, sequence_number: sequence++, type });
  const frames = [
    event("response.created", { response: { status: "in_progress", model: BENCH_MODEL } }),
    event("response.output_item.added", {
      item: { id: "msg_0", type: "message", role: "assistant", content: [] },
      output_index: 0,
    }),
    ...TOKENS.map((delta) =>
      event("response.output_text.delta", {
        content_index: 0,
        delta,
        item_id: "msg_0",
        output_index: 0,
      })
    ),
    event("response.completed", {
      response: {
        status: "completed",
        model: BENCH_MODEL,
        usage: {
          input_tokens: FINAL_METRICS.prompt_eval_count,
          output_tokens: FINAL_METRICS.eval_count,
          total_tokens: FINAL_METRICS.prompt_eval_count + FINAL_METRICS.eval_count,
        },
      },
    }),
  ];
  return frames.map((frame) => encoder.encode(frame));
}

/** The non-streaming `/v1/chat/completions` answer. */
export function openAiBody(): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify({
    id: "chatcmpl-917",
    object: "chat.completion",
    created: CREATED_UNIX,
    model: BENCH_MODEL,
    system_fingerprint: "fp_ollama",
    choices: [{
      index: 0,
      message: { role: "assistant", content: TOKENS.join("") },
      finish_reason: "stop",
    }],
    usage: {
      prompt_tokens: FINAL_METRICS.prompt_eval_count,
      completion_tokens: FINAL_METRICS.eval_count,
      total_tokens: FINAL_METRICS.prompt_eval_count + FINAL_METRICS.eval_count,
    },
  }));
}

/** `GET /api/tags` listing the benchmark model and a few others. */
export function tagsBody(): Uint8Array<ArrayBuffer> {
  const models = [BENCH_MODEL, "llama3.2:latest", "qwen2.5:0.5b", "nomic-embed-text:latest"].map(
    (name, i) => ({
      name,
      model: name,
      modified_at: "2026-01-01T10:00:00.123456789Z",
      size: 1_000_000_000 + i * 123_456_789,
      digest: String(i + 1).repeat(64).slice(0, 64),
      details: {
        parent_model: "",
        format: "gguf",
        family: "llama",
        families: ["llama"],
        parameter_size: "3.2B",
        quantization_level: "Q4_K_M",
      },
    }),
  );
  return encoder.encode(JSON.stringify({ models }));
}

/** `GET /api/version`. */
export function versionBody(): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify({ version: "0.33.0" }));
}

/** An Ollama error body. */
export function errorBody(message: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify({ error: message }));
}

/**
 * An `/api/embed` answer of about `bytes` bytes: one embedding of pseudo-random floats, then
 * `total_duration`, `load_duration` and `prompt_eval_count` last, as Ollama writes them.
 */
export function embedBody(bytes: number): Uint8Array<ArrayBuffer> {
  const head = `{"model":"${BENCH_MODEL}","embeddings":[[`;
  const tail =
    `]],"total_duration":${FINAL_METRICS.total_duration},"load_duration":${FINAL_METRICS.load_duration},"prompt_eval_count":${FINAL_METRICS.prompt_eval_count}}`;
  // A block of ~64 KiB of numbers, repeated: building 60 MB of distinct floats buys nothing.
  let seed = 12345;
  const numbers: string[] = [];
  let blockLength = 0;
  while (blockLength < 65536) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const text = ((seed / 4294967296) * 0.2 - 0.1).toFixed(9);
    numbers.push(text);
    blockLength += text.length + 1;
  }
  const block = encoder.encode(numbers.join(",") + ",");
  const headBytes = encoder.encode(head);
  const tailBytes = encoder.encode(tail);
  // Whole blocks, then whole numbers, then a last "0": the array never ends in a comma.
  const room = Math.max(0, bytes - headBytes.length - tailBytes.length - 1);
  const out = new Uint8Array(headBytes.length + room + 1 + tailBytes.length);
  out.set(headBytes, 0);
  let offset = headBytes.length;
  const end = headBytes.length + room;
  while (offset + block.length <= end) {
    out.set(block, offset);
    offset += block.length;
  }
  for (const number of numbers) {
    const piece = encoder.encode(number + ",");
    if (offset + piece.length > end) break;
    out.set(piece, offset);
    offset += piece.length;
  }
  out[offset++] = 0x30;
  out.set(tailBytes, offset);
  offset += tailBytes.length;
  return out.subarray(0, offset);
}
