/**
 * Compressed request bodies (`Content-Encoding: zstd`, `gzip`, `deflate`): forwarded to Ollama
 * byte for byte, decompressed on the side only to read `model` — small bodies read whole, large
 * and chunked ones streamed — and a body that decompresses past the limit or is corrupt costs
 * nothing but its model name.
 */

import assert from "node:assert/strict";
import zlib from "node:zlib";
import { CaptureReplay, readCapture, SAMPLES_ABSENT } from "./support/capture_replay.ts";
import { withHarness } from "./support/exporter_harness.ts";

const encoder = new TextEncoder();

const COMPRESS: Record<string, (bytes: Uint8Array) => Uint8Array> = {
  zstd: (bytes) => new Uint8Array(zlib.zstdCompressSync(bytes)),
  gzip: (bytes) => new Uint8Array(zlib.gzipSync(bytes)),
  deflate: (bytes) => new Uint8Array(zlib.deflateSync(bytes)),
};

/**
 * A Responses request naming `model` after `padding` characters of input: random letters (which
 * compress to about 60 %, so a large body stays large) or, with `repeat`, one letter.
 */
function requestBody(model: string, padding: number, options: { repeat?: boolean } = {}) {
  let state = 7;
  const input = options.repeat ? "x".repeat(padding) : Array.from({ length: padding }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return String.fromCharCode(97 + (state >>> 16) % 26);
  }).join("");
  return encoder.encode(JSON.stringify({ input, max_output_tokens: 20, model, stream: true }));
}

/** A body stream that hands `bytes` over in pieces of `size` (so it is sent chunked). */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function send(
  options: {
    body: Uint8Array;
    coding: string;
    stream?: boolean;
    env?: Record<string, string>;
  },
): Promise<{ forwarded: Uint8Array; models: string[] }> {
  const upstream = CaptureReplay.start(readCapture("66_v1_responses_stream.txt"), {
    split: "events",
  });
  try {
    let result: { forwarded: Uint8Array; models: string[] } | undefined;
    await withHarness({ upstream: upstream.url, env: options.env ?? {} }, async (harness) => {
      const response = await fetch(`${harness.url}/v1/responses`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": options.coding },
        body: options.stream
          ? chunked(options.body, 7000)
          : options.body as Uint8Array<ArrayBuffer>,
      });
      assert.equal(response.status, 200);
      await response.body?.cancel();
      await harness.settle();
      const samples = await harness.scrape();
      const models = [...samples.keys()].filter((key) => key.startsWith("ollama_requests_total{"))
        .map((key) => /model="([^"]*)"/.exec(key)![1]!);
      const posts = upstream.requests.filter((request) => request.method === "POST");
      assert.equal(posts.length, 1);
      result = { forwarded: posts[0]!.body, models };
    });
    return result!;
  } finally {
    await upstream.close();
  }
}

for (const coding of Object.keys(COMPRESS)) {
  Deno.test({
    name: `a ${coding} body is forwarded unchanged and its model read (small, large, chunked)`,
    ignore: SAMPLES_ABSENT !== null,
    fn: async () => {
      for (
        const [padding, stream] of [[10, false], [300_000, false], [300_000, true]] as const
      ) {
        // 300 kB of input put `model` far behind the first read; compressed, the body is still
        // larger than what is read whole (64 KiB), with a Content-Length or chunked.
        const body = COMPRESS[coding]!(requestBody("TINY", padding));
        if (padding > 10) assert.ok(body.length > 100_000, `${coding}: ${body.length} bytes`);
        const { forwarded, models } = await send({ body, coding, stream });
        assert.deepEqual(forwarded, body, `${coding} ${padding} ${stream}: forwarded unchanged`);
        assert.deepEqual(models, ["tiny:latest"], `${coding} ${padding} ${stream}: model`);
      }
    },
  });
}

Deno.test({
  name: "a compressed body that expands past MAX_REQUEST_BYTES is forwarded, its model unknown",
  ignore: SAMPLES_ABSENT !== null,
  fn: async () => {
    // 2 MB of input before `model`: beyond the 1 MB limit on decompressed bytes.
    const body = COMPRESS.zstd!(requestBody("tiny", 2_000_000, { repeat: true }));
    assert.ok(body.length < 1000, `the compressed body is small (${body.length} bytes)`);
    const { forwarded, models } = await send({
      body,
      coding: "zstd",
      env: { MAX_REQUEST_BYTES: "1000000" },
    });
    assert.deepEqual(forwarded, body);
    assert.deepEqual(models, [""]);
  },
});

Deno.test({
  name: "a corrupt or unknown compressed body is forwarded unchanged, its model unknown",
  ignore: SAMPLES_ABSENT !== null,
  fn: async () => {
    const corrupt = COMPRESS.gzip!(requestBody("tiny", 10)).slice(0, 20);
    const first = await send({ body: corrupt, coding: "gzip" });
    assert.deepEqual(first.forwarded, corrupt);
    assert.deepEqual(first.models, [""]);
    // A coding the exporter cannot read: the plain JSON inside must not be taken for the body.
    const plain = requestBody("tiny", 10);
    const second = await send({ body: plain, coding: "compress" });
    assert.deepEqual(second.forwarded, plain);
    assert.deepEqual(second.models, [""]);
  },
});
