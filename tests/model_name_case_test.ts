/**
 * Model labels ignore case, as Ollama does when it resolves a name: any spelling of a model is
 * one series, and spellings cannot use up `MAX_MODELS`.
 */
import assert from "node:assert/strict";
import { ModelLabels } from "../lib/model_labels.ts";
import { withHarness } from "./support/exporter_harness.ts";

/** `count` distinct spellings of `name`, upper-casing a different subset of letters each time. */
function spellings(name: string, count: number): string[] {
  const letters = [...name].map((c, i) => [c, i] as const).filter(([c]) => /[a-z]/.test(c));
  return Array.from({ length: count }, (_, n) => {
    const chars = [...name];
    letters.forEach(([c, i], bit) => {
      if (((n + 1) >> bit) & 1) chars[i] = c.toUpperCase();
    });
    return chars.join("");
  });
}

Deno.test("ModelLabels: case variants are one admitted name", () => {
  const labels = new ModelLabels({ max: 2 });
  assert.equal(labels.admit("llama3.2:LaTeSt"), "llama3.2:latest");
  assert.equal(labels.admit("LLAMA3.2"), "llama3.2:latest");
  assert.equal(labels.size, 1);
  assert.equal(labels.admit("Qwen2.5:0.5B"), "qwen2.5:0.5b");
  assert.equal(labels.size, 2);
});

Deno.test("110 spellings of one model are one series; a model pulled later gets its own", async () => {
  await withHarness({ env: { MAX_MODELS: "5" } }, async (h) => {
    const names = spellings("llama3.2:latest", 110);
    assert.equal(new Set(names).size, 110);
    for (const name of names) {
      const response = await fetch(`${h.url}/api/generate`, {
        method: "POST",
        body: JSON.stringify({ model: name, prompt: "hi", stream: false }),
      });
      assert.equal(response.status, 200, name);
      await response.arrayBuffer();
    }
    const pulled = await fetch(`${h.url}/api/pull`, {
      method: "POST",
      body: JSON.stringify({ model: "Phi3:Mini", stream: false }),
    });
    assert.equal(pulled.status, 200);
    await pulled.arrayBuffer();
    const chat = await fetch(`${h.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({
        model: "PHI3:mini",
        messages: [{ role: "user", content: "hi" }],
        stream: false,
      }),
    });
    assert.equal(chat.status, 200);
    await chat.arrayBuffer();
    await h.settle();
    const samples = await h.scrape();
    const generate = { endpoint: "/api/generate", code: "200" };
    assert.equal(
      h.valueIn(samples, "ollama_requests_total", { model: "llama3.2:latest", ...generate }),
      110,
    );
    assert.equal(
      h.valueIn(samples, "ollama_requests_total", { model: "other", ...generate }),
      undefined,
    );
    assert.equal(
      h.valueIn(samples, "ollama_requests_total", {
        model: "phi3:mini",
        endpoint: "/api/chat",
        code: "200",
      }),
      1,
    );
    const models = new Set(
      [...samples.keys()]
        .filter((key) => key.startsWith("ollama_requests_total{") && !key.includes("/api/pull"))
        .map((key) => /model="([^"]*)"/.exec(key)?.[1]),
    );
    assert.deepEqual([...models].sort(), ["llama3.2:latest", "phi3:mini"]);
  });
});
