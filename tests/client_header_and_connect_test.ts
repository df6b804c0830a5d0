/**
 * Two things about what clients send on the wire: a `CLIENT_HEADER` value in UTF-8 is the label
 * as written (Deno hands header bytes over as Latin-1), and `CONNECT` is refused, not forwarded.
 */
import assert from "node:assert/strict";
import { headerText } from "../lib/header_text.ts";
import { type ExporterHarness, withHarness } from "./support/exporter_harness.ts";
import { rawRequest } from "./support/raw_http.ts";

function portOf(h: ExporterHarness): number {
  return Number(new URL(h.url).port);
}

Deno.test("headerText: UTF-8 bytes are decoded, anything else is kept", () => {
  assert.equal(headerText("\u00c3\u00a9quipe"), "équipe");
  assert.equal(headerText("\u00e6\u0097\u00a5\u00e6\u009c\u00ac"), "日本");
  assert.equal(headerText("plain-ascii"), "plain-ascii");
  assert.equal(headerText("caf\u00e9"), "caf\u00e9", "Latin-1 that is not UTF-8 stays");
  assert.equal(headerText("déjà"), "déjà", "already text");
});

Deno.test("X-Client: é over the wire is the client label é", async () => {
  await withHarness({ env: { CLIENT_HEADER: "X-Client" } }, async (h) => {
    for (const client of ["é", "équipe-données", "日本", "🚀 rocket"]) {
      const response = await rawRequest(portOf(h), "/api/generate", {
        method: "POST",
        headers: { "X-Client": client, "Content-Type": "application/json" },
        body: JSON.stringify({ model: "llama3.2", prompt: "hi", stream: false }),
      });
      assert.equal(response.status, 200);
    }
    await h.settle();
    const samples = await h.scrape();
    const labels = { model: "llama3.2:latest", endpoint: "/api/generate", code: "200" };
    for (const client of ["é", "équipe-données", "日本", "🚀 rocket"]) {
      assert.equal(h.valueIn(samples, "ollama_requests_total", { ...labels, client }), 1, client);
    }
    assert.equal(
      [...samples.keys()].some((key) => key.includes("Ã")),
      false,
      "no Latin-1 mis-decoding in any label",
    );
  });
});

Deno.test("CONNECT host:port gets 405 with Allow, and never reaches Ollama", async () => {
  await withHarness({}, async (h) => {
    const response = await rawRequest(portOf(h), "example.com:443", {
      method: "CONNECT",
      headers: { Host: "example.com:443" },
    });
    assert.equal(response.status, 405);
    const header = (name: string) => response.headers.find(([n]) => n === name)?.[1];
    assert.equal(header("allow"), "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    assert.equal(header("content-type"), "application/json; charset=utf-8");
    assert.deepEqual(JSON.parse(new TextDecoder().decode(response.body)), {
      error: "method not allowed: the exporter does not tunnel CONNECT",
    });
    assert.equal(h.simulator.requests.some((r) => r.method === "CONNECT"), false);
  });
});
