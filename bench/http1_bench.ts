/**
 * Benchmarks of the upstream HTTP/1.1 client's per-request text work: encoding a request head,
 * finding and parsing Ollama's response head, and copying headers without hop-by-hop fields (from
 * a `Headers` object, as for the client's request, and from pairs, as for Ollama's answer).
 *
 * Run: `deno bench bench/http1_bench.ts` (no permissions needed).
 *
 * @module
 */

import { withoutHopHeaders } from "../lib/proxy/hop_headers.ts";
import { encodeRequestHead, findHeadEnd, parseResponseHead } from "../lib/http1/http1_head.ts";

const encoder = new TextEncoder();

/** A chunked NDJSON answer's head as Ollama sends it. */
const STREAM_HEAD = encoder.encode(
  "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n" +
    "Date: Wed, 25 Nov 2026 14:00:00 GMT\r\nTransfer-Encoding: chunked\r\n\r\n",
);

const CLIENT_HEADERS = new Headers({
  "host": "127.0.0.1:8000",
  "user-agent": "ollama-js/0.6.0 (x64 linux Deno/2.9.6)",
  "accept": "application/json",
  "content-type": "application/json",
  "content-length": "120",
  "connection": "keep-alive",
});

const ANSWER_PAIRS: [string, string][] = [
  ["content-type", "application/x-ndjson"],
  ["date", "Wed, 25 Nov 2026 14:00:00 GMT"],
  ["transfer-encoding", "chunked"],
];

function expect(actual: unknown, wanted: unknown, what: string): void {
  if (actual !== wanted) throw new Error(`${what}: got ${actual}, expected ${wanted}`);
}

Deno.bench({
  name: "encode a request head (6 fields)",
  group: "request head",
  fn: () => {
    const headers = withoutHopHeaders(CLIENT_HEADERS, { drop: ["host", "content-length"] });
    headers.unshift(["host", "127.0.0.1:11434"]);
    headers.push(["content-length", "120"]);
    const head = encodeRequestHead("POST /api/chat HTTP/1.1", headers);
    expect(head[head.length - 1], 0x0a, "last byte");
  },
});

Deno.bench({
  name: "find and parse a response head",
  group: "response head",
  fn: () => {
    const end = findHeadEnd(STREAM_HEAD);
    const head = parseResponseHead(STREAM_HEAD.subarray(0, end), { method: "POST" });
    expect(head.framing.kind, "chunked", "framing");
  },
});

Deno.bench({
  name: "copy headers from a Headers object",
  group: "hop-by-hop filter",
  baseline: true,
  fn: () => {
    expect(withoutHopHeaders(CLIENT_HEADERS).length, 5, "fields");
  },
});

Deno.bench({
  name: "copy headers from pairs",
  group: "hop-by-hop filter",
  fn: () => {
    expect(withoutHopHeaders(ANSWER_PAIRS).length, 2, "fields");
  },
});
