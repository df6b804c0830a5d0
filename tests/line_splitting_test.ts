import assert from "node:assert/strict";
import { ByteLineSplitter } from "../lib/streams/byte_line_splitter.ts";
import { TextLineStream } from "../lib/streams/text_line_stream.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A small seeded generator, so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    pieces.push(bytes.subarray(start, cut));
    start = cut;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

const LINES = [
  '{"model":"llama3.2","response":"Bonjour é","done":false}',
  '{"model":"llama3.2","response":"日本語 🦙","done":false}',
  "",
  '{"model":"llama3.2","response":"","done":true,"eval_count":3}',
];

Deno.test("ByteLineSplitter hands over every line whole, however the bytes are cut", () => {
  const bytes = encoder.encode(LINES.join("\n") + "\n");
  const next = random(42);
  for (let round = 0; round < 500; round++) {
    const cuts = Array.from(
      { length: 1 + Math.floor(next() * 20) },
      () => Math.floor(next() * bytes.length),
    );
    const seen: string[] = [];
    const splitter = new ByteLineSplitter((line) => seen.push(decoder.decode(line)));
    for (const piece of splitAt(bytes, cuts)) splitter.push(piece);
    splitter.flush();
    assert.deepEqual(seen, LINES, `cuts ${cuts}`);
  }
});

Deno.test("ByteLineSplitter: byte by byte, CRLF, and a last line without newline", () => {
  const bytes = encoder.encode("a é\r\nb\n\nlast 日");
  const seen: string[] = [];
  const splitter = new ByteLineSplitter((line) => seen.push(decoder.decode(line)));
  for (const byte of bytes) splitter.push(new Uint8Array([byte]));
  assert.deepEqual(seen, ["a é", "b", ""]);
  splitter.flush();
  assert.deepEqual(seen, ["a é", "b", "", "last 日"]);
  splitter.flush();
  assert.equal(seen.length, 4);
});

Deno.test("ByteLineSplitter keeps only the tail of an over-long line and says so", () => {
  const seen: { text: string; truncated: boolean }[] = [];
  const splitter = new ByteLineSplitter(
    (line, info) => seen.push({ text: decoder.decode(line), truncated: info.truncated }),
    { maxLineBytes: 16 },
  );
  for (let i = 0; i < 100; i++) splitter.push(encoder.encode("0123456789"));
  splitter.push(encoder.encode('"end":1}\nshort\n'));
  assert.equal(seen.length, 2);
  assert.equal(seen[0]!.truncated, true);
  assert.ok(seen[0]!.text.endsWith('0123456789"end":1}'));
  assert.ok(seen[0]!.text.length < 40, `kept ${seen[0]!.text.length} bytes`);
  assert.deepEqual(seen[1], { text: "short", truncated: false });
});

async function linesOf(chunks: string[], options = {}): Promise<string[]> {
  const stream = ReadableStream.from(chunks).pipeThrough(new TextLineStream(options));
  return await Array.fromAsync(stream);
}

Deno.test("TextLineStream splits like @std/streams", async () => {
  assert.deepEqual(await linesOf(["a\nb", "c\r\n", "\nd"]), ["a", "bc", "", "d"]);
  assert.deepEqual(await linesOf(["a\rb\n"]), ["a\rb"]);
  assert.deepEqual(await linesOf(["a\rb\r", "\nc\r"], { allowCR: true }), ["a", "b", "c"]);
  assert.deepEqual(await linesOf(["x\n"]), ["x"]);
  assert.deepEqual(await linesOf([]), []);
});

Deno.test("TextLineStream after TextDecoderStream survives cuts inside characters", async () => {
  const bytes = encoder.encode(LINES.join("\n") + "\n");
  const next = random(7);
  for (let round = 0; round < 50; round++) {
    const cuts = Array.from({ length: 8 }, () => Math.floor(next() * bytes.length));
    const lines = await Array.fromAsync(
      ReadableStream.from(splitAt(bytes, cuts))
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new TextLineStream()),
    );
    assert.deepEqual(lines, LINES);
  }
});

Deno.test("ByteLineSplitter with keepLineEnding hands lines over exactly as received", () => {
  const text = 'data: {"a":"é"}\r\n\r\ndata: [DONE]\n\ntail';
  const bytes = encoder.encode(text);
  const next = random(11);
  for (let round = 0; round < 200; round++) {
    const cuts = Array.from({ length: 6 }, () => Math.floor(next() * bytes.length));
    const seen: string[] = [];
    const splitter = new ByteLineSplitter((line) => seen.push(decoder.decode(line)), {
      keepLineEnding: true,
    });
    for (const piece of splitAt(bytes, cuts)) splitter.push(piece);
    assert.equal(splitter.pendingBytes, 4, "the unfinished 'tail' is held");
    splitter.flush();
    assert.deepEqual(seen, ['data: {"a":"é"}\r\n', "\r\n", "data: [DONE]\n", "\n", "tail"]);
    assert.equal(seen.join(""), text);
  }
});
