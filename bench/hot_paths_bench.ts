/**
 * Benchmarks of the exporter's per-request hot paths, on one streamed `/api/chat` answer (20
 * intermediate chunks and the final chunk, in Ollama's wire format):
 *
 * - line splitting: `ByteLineSplitter` on raw bytes vs `TextDecoderStream` + `TextLineStream`;
 * - reading the final chunk: `JSON.parse` + `statsFromOllama` vs `statsFromTail`;
 * - one `RequestObservation` from start to finish (metrics registered on a fresh registry);
 * - pumping the 21 chunks through an empty `TransformStream` vs `tapBody` (with an observer that
 *   does nothing, and with the real `StreamObserver` and `NativePart`);
 * - the same for an SSE `/v1/chat/completions` stream (21 token frames, the finish frame, the
 *   usage frame and `[DONE]`) with the real `StreamObserver` and `OpenAiPart`, passing the usage frame on
 *   or stripping it (when the proxy added `include_usage` itself);
 * - the same for a `/v1/messages` stream (24 events) with `MessagesPart` and a `/v1/responses`
 *   stream (23 events) with `ResponsesPart`, against an empty `TransformStream`.
 *
 * Run: `deno bench bench/hot_paths_bench.ts` (no permissions needed).
 */

import { registerExporterMetrics } from "../lib/exporter_metrics.ts";
import { Logger } from "../lib/log.ts";
import { Registry } from "../lib/metrics/registry.ts";
import { ModelLabels } from "../lib/model_labels.ts";
import { statsFromOllama, statsFromTail } from "../lib/observe/generation_stats.ts";
import { MessagesPart } from "../lib/observe/messages_part.ts";
import { NativePart } from "../lib/observe/native_part.ts";
import { OpenAiPart } from "../lib/observe/openai_part.ts";
import { ResponsesPart } from "../lib/observe/responses_part.ts";
import { StreamObserver } from "../lib/observe/stream_observer.ts";
import { type ObservationSinks, RequestObservation } from "../lib/observe/request_observation.ts";
import { ByteLineSplitter } from "../lib/streams/byte_line_splitter.ts";
import { type BodyObserver, type ChunkSource, tapBody } from "../lib/streams/tap_body.ts";
import { TextLineStream } from "../lib/streams/text_line_stream.ts";
import {
  BENCH_MODEL,
  chatFinalChunk,
  chatStreamChunks,
  messagesStreamChunks,
  openAiStreamChunks,
  responsesStreamChunks,
} from "./ollama_bodies.ts";

const CHUNKS = chatStreamChunks();
const FINAL_LINE = chatFinalChunk().trimEnd();

/** `chunks` as a body stream, one chunk per pull (the baselines pipe this). */
function streamOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[next++];
      if (chunk) controller.enqueue(chunk);
      if (next >= chunks.length) controller.close();
    },
  }, { highWaterMark: 0 });
}

/** `chunks` as what the exporter taps: an upstream body read chunk by chunk. */
function sourceOf(chunks: readonly Uint8Array[]): ChunkSource {
  let next = 0;
  return { read: () => Promise.resolve(chunks[next++] ?? null), cancel: () => {} };
}

async function drain(stream: ReadableStream<unknown>): Promise<number> {
  let count = 0;
  for await (const _ of stream) count++;
  return count;
}

function expect(actual: number, wanted: number, what: string): void {
  if (actual !== wanted) throw new Error(`${what}: got ${actual}, expected ${wanted}`);
}

function sinks(): ObservationSinks {
  const registry = new Registry();
  const models = new ModelLabels({ max: 100 });
  models.admit(BENCH_MODEL);
  return {
    metrics: registerExporterMetrics(registry),
    models,
    logger: new Logger("ERROR"),
    clientLabel: false,
  };
}

function observation(shared: ObservationSinks): RequestObservation {
  return new RequestObservation(shared, {
    method: "POST",
    path: "/api/chat",
    endpoint: "/api/chat",
    model: BENCH_MODEL,
    start: performance.now(),
  });
}

Deno.bench({
  name: "ByteLineSplitter",
  group: "line splitting, 21 chunks",
  baseline: true,
  fn: () => {
    let lines = 0;
    const splitter = new ByteLineSplitter(() => lines++);
    for (const chunk of CHUNKS) splitter.push(chunk);
    splitter.flush();
    expect(lines, 21, "lines");
  },
});

Deno.bench({
  name: "TextDecoderStream + TextLineStream",
  group: "line splitting, 21 chunks",
  fn: async () => {
    const lines = await drain(
      streamOf(CHUNKS).pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream()),
    );
    expect(lines, 21, "lines");
  },
});

Deno.bench({
  name: "JSON.parse + statsFromOllama",
  group: "final chunk",
  baseline: true,
  fn: () => {
    const stats = statsFromOllama(JSON.parse(FINAL_LINE));
    expect(stats.outputTokens ?? -1, 20, "eval_count");
  },
});

Deno.bench({
  name: "statsFromTail",
  group: "final chunk",
  fn: () => {
    const stats = statsFromTail(FINAL_LINE);
    expect(stats.outputTokens ?? -1, 20, "eval_count");
  },
});

const sharedSinks = sinks();

Deno.bench({
  name: "start + finish",
  group: "request observation",
  baseline: true,
  fn: () => {
    observation(sharedSinks).finish(200);
  },
});

Deno.bench({
  name: "start + 21 outputs + stats + finish",
  group: "request observation",
  fn: () => {
    const record = observation(sharedSinks);
    for (let i = 0; i < 21; i++) record.output(performance.now());
    record.stats({
      promptTokens: 26,
      outputTokens: 20,
      totalDurationNs: 1_234_567_890,
      loadDurationNs: 12_345_678,
      promptEvalDurationNs: 123_456_789,
      evalDurationNs: 987_654_321,
    });
    record.finish(200);
  },
});

const noop: BodyObserver = { chunk: () => {}, end: () => {}, abort: () => {} };

Deno.bench({
  name: "empty TransformStream",
  group: "body pump, 21 chunks",
  baseline: true,
  fn: async () => {
    expect(await drain(streamOf(CHUNKS).pipeThrough(new TransformStream())), 21, "chunks");
  },
});

Deno.bench({
  name: "tapBody, observer does nothing",
  group: "body pump, 21 chunks",
  fn: async () => {
    expect(await drain(tapBody(sourceOf(CHUNKS), noop)), 21, "chunks");
  },
});

Deno.bench({
  name: "tapBody + StreamObserver/NativePart (the /api/chat path)",
  group: "body pump, 21 chunks",
  fn: async () => {
    const record = observation(sharedSinks);
    const observer = new StreamObserver(record, new NativePart(record), {
      status: 200,
      streaming: true,
    });
    expect(await drain(tapBody(sourceOf(CHUNKS), observer)), 21, "chunks");
  },
});

const SSE_CHUNKS = openAiStreamChunks({ includeUsage: true });

Deno.bench({
  name: "empty TransformStream",
  group: "SSE body pump, 23 frames",
  baseline: true,
  fn: async () => {
    expect(await drain(streamOf(SSE_CHUNKS).pipeThrough(new TransformStream())), 23, "frames");
  },
});

Deno.bench({
  name: "tapBody + StreamObserver/OpenAiPart, client asked for usage",
  group: "SSE body pump, 23 frames",
  fn: async () => {
    const record = observation(sharedSinks);
    const observer = new StreamObserver(record, new OpenAiPart(record), {
      status: 200,
      streaming: true,
    });
    expect(await drain(tapBody(sourceOf(SSE_CHUNKS), observer)), 23, "frames");
  },
});

Deno.bench({
  name: "tapBody + StreamObserver/OpenAiPart, usage stripped (the proxy asked for it)",
  group: "SSE body pump, 23 frames",
  fn: async () => {
    const record = observation(sharedSinks);
    const observer = new StreamObserver(record, new OpenAiPart(record, { stripUsage: true }), {
      status: 200,
      streaming: true,
    });
    expect(await drain(tapBody(sourceOf(SSE_CHUNKS), observer)), 22, "frames");
  },
});

const MESSAGES_CHUNKS = messagesStreamChunks();
const RESPONSES_CHUNKS = responsesStreamChunks();

Deno.bench({
  name: "empty TransformStream",
  group: "Messages and Responses pumps",
  baseline: true,
  fn: async () => {
    expect(await drain(streamOf(MESSAGES_CHUNKS).pipeThrough(new TransformStream())), 25, "ev");
  },
});

Deno.bench({
  name: "tapBody + StreamObserver/MessagesPart (/v1/messages)",
  group: "Messages and Responses pumps",
  fn: async () => {
    const record = observation(sharedSinks);
    const observer = new StreamObserver(record, new MessagesPart(record), {
      status: 200,
      streaming: true,
    });
    expect(await drain(tapBody(sourceOf(MESSAGES_CHUNKS), observer)), 25, "events");
  },
});

Deno.bench({
  name: "tapBody + StreamObserver/ResponsesPart (/v1/responses)",
  group: "Messages and Responses pumps",
  fn: async () => {
    const record = observation(sharedSinks);
    const observer = new StreamObserver(record, new ResponsesPart(record), {
      status: 200,
      streaming: true,
    });
    expect(await drain(tapBody(sourceOf(RESPONSES_CHUNKS), observer)), 23, "events");
  },
});
