/**
 * Test helper: one conformance run, client → exporter → {@linkcode RecordingHop} → Ollama. Each
 * request is sent through the exporter and found again at the hop; the client must get exactly
 * the bytes Ollama sent (the exporter is transparent), and what Ollama sent is read by the
 * reference reader into the series the exporter must show. {@linkcode ConformanceRun.verify}
 * then compares them with a scrape of `/metrics`, exactly.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ExpectedMetrics } from "./expected_metrics.ts";
import type { ExporterHarness } from "./exporter_harness.ts";
import { withoutInjectedUsage } from "./injected_usage.ts";
import {
  CUT_BEFORE_HEADER,
  EXCHANGE_ID_HEADER,
  type RecordedExchange,
  type RecordingHop,
} from "./recording_hop.ts";
import { readWire, type WireFacts } from "./wire_reference.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** What the exporter inserts in front of a streaming OpenAI request's closing `}` (README). */
const USAGE_REQUEST = ',"stream_options":{"include_usage":true}';

/** One request of a run. */
export interface ConformanceCall {
  /** The request path, with its query if any (`/v1/messages?beta=true`). */
  readonly path: string;
  /** The body: an object or array is sent as JSON, a string or bytes as they are. */
  readonly body: unknown;
  /** The `model` label value the exporter must use (normalised, `other` or `""`). */
  readonly model: string;
  /** Extra request headers (`content-type: application/json` is always sent). */
  readonly headers?: Record<string, string>;
  /**
   * Whether the exporter must ask Ollama for usage on the client's behalf (an OpenAI stream
   * without `stream_options.include_usage: true`), and strip it again.
   */
  readonly injected?: boolean;
  /**
   * Ends Ollama's answer at the start of the first line containing this text (the hop's
   * `CUT_BEFORE_HEADER`), so the exporter sees a stream without its terminator.
   */
  readonly cutBefore?: string;
  /**
   * Called with the client's body text so far after each chunk the client receives, until it
   * returns `true` (e.g. to make Ollama fail mid-stream once output has arrived).
   */
  readonly onChunk?: (received: string) => boolean | Promise<boolean>;
}

/** What one request got, at the client and at the hop. */
export interface ConformanceResult {
  /** The status the client got. */
  readonly status: number;
  /** The body bytes the client got. */
  readonly clientBody: Uint8Array;
  /** What the hop recorded of the same request (Ollama's answer as it came). */
  readonly exchange: RecordedExchange;
  /** The reference reading of Ollama's answer. */
  readonly facts: WireFacts;
  /** The client's body as text. */
  readonly text: string;
}

/** One exporter's worth of requests and the metrics they must produce. */
export class ConformanceRun {
  #harness: ExporterHarness;
  #hop: RecordingHop;
  #expected = new ExpectedMetrics();
  #next = 0;
  #prefix = crypto.randomUUID().slice(0, 8);

  /** A run through `harness`, whose exporter forwards to `hop`. */
  constructor(harness: ExporterHarness, hop: RecordingHop) {
    this.#harness = harness;
    this.#hop = hop;
  }

  /**
   * Sends `call` through the exporter and checks, for request `name`: the hop saw the same path
   * and body (with the usage request inserted when `injected`), and the client got Ollama's
   * status, `Content-Type` and body bytes (with the injected usage stripped when `injected`).
   * Records what the answer must add to the metrics.
   */
  async send(name: string, call: ConformanceCall): Promise<ConformanceResult> {
    const id = `${this.#prefix}-${this.#next++}`;
    const body = bytesOf(call.body);
    const headers = new Headers({ "content-type": "application/json", ...call.headers });
    headers.set(EXCHANGE_ID_HEADER, id);
    if (call.cutBefore !== undefined) headers.set(CUT_BEFORE_HEADER, call.cutBefore);
    const response = await fetch(this.#harness.url + call.path, { method: "POST", headers, body });
    const clientBody = await readBody(response, call.onChunk);
    const exchange = await this.#hop.exchange(id);
    assert.equal(exchange.target, call.path, `${name}: path at Ollama`);
    assert.equal(exchange.method, "POST", `${name}: method at Ollama`);
    const sentBody = call.injected ? withUsageRequest(body) : body;
    assert.equal(
      decoder.decode(exchange.requestBody),
      decoder.decode(sentBody),
      `${name}: request body at Ollama`,
    );
    assert.deepEqual(exchange.requestBody, sentBody, `${name}: request bytes at Ollama`);
    const outcome = call.cutBefore === undefined ? "complete" : "cut";
    assert.equal(await exchange.finished, outcome, `${name}: how Ollama's body was relayed`);
    assert.equal(response.status, exchange.status, `${name}: status`);
    assert.equal(
      response.headers.get("content-type"),
      exchange.responseHeaders.get("content-type"),
      `${name}: content-type`,
    );
    const ollamaBody = exchange.body();
    const expectedBody = call.injected ? withoutInjectedUsage(ollamaBody) : ollamaBody;
    assert.equal(decoder.decode(clientBody), decoder.decode(expectedBody), `${name}: body text`);
    assert.deepEqual(clientBody, expectedBody, `${name}: body bytes`);
    const facts = readWire({
      target: exchange.target,
      status: exchange.status,
      contentType: exchange.responseHeaders.get("content-type"),
      body: ollamaBody,
    });
    this.#expected.add({ model: call.model, code: exchange.status, facts });
    return {
      status: response.status,
      clientBody,
      exchange,
      facts,
      text: decoder.decode(clientBody),
    };
  }

  /**
   * Waits until nothing is in flight, scrapes `/metrics` and asserts that every compared series
   * equals what the answers sent so far must have produced, exactly (no series missing, none
   * extra), and that the timing histograms are sane. Returns the expected series.
   */
  async verify(): Promise<Map<string, number>> {
    await this.#harness.settle();
    const samples = await this.#harness.scrape();
    const expected = this.#expected.series;
    assert.ok(expected.size > 0, "the run sent requests");
    assert.deepEqual(
      Object.fromEntries(ExpectedMetrics.compared(samples)),
      Object.fromEntries(expected),
    );
    assert.deepEqual(ExpectedMetrics.timingProblems(samples), []);
    return expected;
  }
}

/** The whole body, calling `onChunk` with the text so far after each chunk until it is done. */
async function readBody(
  response: Response,
  onChunk: ConformanceCall["onChunk"],
): Promise<Uint8Array> {
  if (onChunk === undefined || response.body === null) return await response.bytes();
  const chunks: Uint8Array[] = [];
  let watching = true;
  for await (const chunk of response.body) {
    chunks.push(chunk);
    if (watching) watching = !(await onChunk(decoder.decode(concat(chunks))));
  }
  return concat(chunks);
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.length;
  }
  return whole;
}

function bytesOf(body: unknown): Uint8Array<ArrayBuffer> {
  if (body instanceof Uint8Array) return new Uint8Array(body); // a copy: Buffers will not do
  return encoder.encode(typeof body === "string" ? body : JSON.stringify(body));
}

/** `body` with the usage request inserted in front of its last `}`. */
function withUsageRequest(body: Uint8Array): Uint8Array<ArrayBuffer> {
  const text = decoder.decode(body);
  const end = text.lastIndexOf("}");
  assert.ok(end > 0, "an injected request is a JSON object");
  return encoder.encode(text.slice(0, end) + USAGE_REQUEST + text.slice(end));
}
