/**
 * The bounded streaming scan of a request body's top-level fields: the same answer however the
 * body is split, strings with escaped quotes and braces, nested values skipped, the closing `}`
 * located, values over the cap unknown, and non-objects or broken JSON leaving every field unknown.
 */
import assert from "node:assert/strict";
import { JsonFieldScanner } from "../lib/streams/json_field_scanner.ts";

const encoder = new TextEncoder();
const KEYS = ["model", "stream", "stream_options", "name"];

/** Scans `text` cut at `cuts`; returns the scanner and the closing brace offset seen by push. */
function scan(text: string, cuts: number[] = [], keys = KEYS) {
  const bytes = encoder.encode(text);
  const scanner = new JsonFieldScanner(keys, { maxValueBytes: 64 });
  let closeSeen = -1;
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    const index = scanner.push(bytes.subarray(from, cut));
    if (index !== -1) closeSeen = from + index;
    from = cut;
  }
  return { scanner, closeSeen };
}

const fields = (s: JsonFieldScanner) =>
  Object.fromEntries(KEYS.map((key) => [key, s.value(key)]).filter(([, v]) => v !== undefined));

const BODIES: { text: string; expected: Record<string, unknown> }[] = [
  {
    text: '{"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}',
    expected: { model: "llama3.2", stream: true },
  },
  {
    // Escaped quotes, braces and backslashes inside strings; the model comes last.
    text: '{"prompt":"a \\"quoted\\" {brace} [x] \\\\","options":{"stop":["}","\\"}"]},' +
      '"stream_options":{"include_usage":false},"model":"qwen\\u00e9:7b"}',
    expected: { model: "qwen\u00e9:7b", stream_options: { include_usage: false } },
  },
  {
    // Whitespace everywhere, numbers, literals, nested arrays of objects, upper-case key.
    text: ' \n{ "n" : 12345678901234567890 , "t":1.0, "x":null, "STREAM" : false ,' +
      ' "deep":[[{"a":{"b":[1,2,{"c":"}"}]}}]], "Model":"m" } \n',
    expected: { stream: false, model: "m" },
  },
  {
    // Duplicate keys: the last wins, as in Go.
    text: '{"model":"a","model":"b","name":"n"}',
    expected: { model: "b", name: "n" },
  },
  { text: "{}", expected: {} },
];

Deno.test("every split of a body gives the same fields and closing brace", () => {
  for (const { text, expected } of BODIES) {
    const length = encoder.encode(text).length;
    const close = encoder.encode(text).lastIndexOf(0x7d);
    for (let cut = 0; cut <= length; cut++) {
      const { scanner, closeSeen } = scan(text, [cut]);
      assert.ok(scanner.complete, `${text} cut at ${cut}`);
      assert.deepEqual(fields(scanner), expected, `${text} cut at ${cut}`);
      assert.equal(scanner.closeOffset, close);
      assert.equal(closeSeen, close);
    }
    // One byte at a time.
    const { scanner } = scan(text, Array.from({ length }, (_, i) => i));
    assert.deepEqual(fields(scanner), expected);
    assert.equal(scanner.empty, text === "{}");
  }
});

Deno.test("a value over the cap is unknown but present; the scan goes on", () => {
  const long = "x".repeat(100);
  const { scanner } = scan(`{"model":"${long}","stream":true}`, [10, 50]);
  assert.equal(scanner.value("model"), undefined);
  assert.ok(scanner.has("model"));
  assert.equal(scanner.value("stream"), true);
  assert.ok(!scanner.has("name"));
});

Deno.test("unwanted values are not stored, however large", () => {
  const scanner = new JsonFieldScanner(["model"]);
  scanner.push(encoder.encode('{"prompt":"'));
  const chunk = encoder.encode("y".repeat(1 << 20));
  for (let i = 0; i < 16; i++) scanner.push(chunk);
  scanner.push(encoder.encode('","model":"m"}'));
  assert.ok(scanner.complete);
  assert.equal(scanner.value("model"), "m");
  assert.equal(scanner.scanned, 11 + 16 * (1 << 20) + 14);
});

Deno.test("non-objects and broken JSON leave every field unknown", () => {
  for (
    const text of [
      "",
      "[]",
      '"model"',
      "42",
      "null",
      '{"model":"m",}',
      '{"model":"m" "stream":true}',
      '{"model":}',
      '{"model" "m"}',
      '{model:"m"}',
      "\ufeff{}",
    ]
  ) {
    const { scanner } = scan(text, [3]);
    assert.ok(!scanner.complete, text);
    assert.equal(scanner.value("model"), undefined, text);
  }
  // Truncated: incomplete, the value seen so far stays readable.
  const { scanner } = scan('{"model":"m","prompt":"abc');
  assert.ok(!scanner.complete && !scanner.invalid);
  assert.equal(scanner.value("model"), "m");
  // What follows the closing brace is ignored (Go's json.Decoder stops there too).
  const after = scan('{"model":"m"} trailing');
  assert.ok(after.scanner.complete);
  assert.equal(after.scanner.value("model"), "m");
});

Deno.test("a whole body scanned at once reads as the byte scan reads it", () => {
  const texts = [
    ...BODIES.map((body) => body.text),
    '{"model":"' + "x".repeat(100) + '","stream":true}',
    '{"model":"m"} trailing',
    '{"model":"m",}',
    "[]",
    "42",
    "",
  ];
  for (const text of texts) {
    const bytes = encoder.encode(text);
    const whole = new JsonFieldScanner(KEYS, { maxValueBytes: 64 });
    const close = whole.pushWhole(bytes);
    const { scanner, closeSeen } = scan(text);
    assert.deepEqual(fields(whole), fields(scanner), text);
    assert.equal(close, closeSeen, text);
    assert.equal(whole.closeOffset, scanner.closeOffset, text);
    assert.equal(whole.complete, scanner.complete, text);
    assert.equal(whole.invalid, scanner.invalid, text);
    assert.equal(whole.empty, scanner.empty, text);
    for (const key of KEYS) assert.equal(whole.has(key), scanner.has(key), `${text} has ${key}`);
  }
});
