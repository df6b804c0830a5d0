import assert from "node:assert/strict";
import { endpointLabel } from "../lib/endpoint_label.ts";
import { ModelLabels, OTHER_MODEL } from "../lib/model_labels.ts";
import { normalizeModelName } from "../lib/model_name.ts";

Deno.test("model names are normalised as Ollama resolves them", () => {
  const cases: [unknown, string][] = [
    ["llama3.2", "llama3.2:latest"],
    ["llama3.2:latest", "llama3.2:latest"],
    ["registry.ollama.ai/library/llama3.2:latest", "llama3.2:latest"],
    ["library/qwen2.5:0.5b", "qwen2.5:0.5b"],
    [
      "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M",
      "hf.co/bartowski/llama-3.2-1b-instruct-gguf:q4_k_m",
    ],
    ["llama3.2:LaTeSt", "llama3.2:latest"],
    ["LLAMA3.2", "llama3.2:latest"],
    ["Registry.Ollama.AI/Library/Llama3.2", "llama3.2:latest"],
    ["myregistry:5000/team/model", "myregistry:5000/team/model:latest"],
    ["  phi3  ", "phi3:latest"],
    ["", ""],
    [undefined, ""],
    [42, ""],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeModelName(input), expected);
});

Deno.test("endpoint labels are Ollama's routes; unknown paths collapse to other", () => {
  const cases: [string, string][] = [
    ["/api/chat", "/api/chat"],
    ["/api/chat/", "/api/chat"],
    ["/", "/"],
    ["/api/blobs/sha256:abc", "/api/blobs"],
    ["/v1/models/llama3.2", "/v1/models"],
    ["/v1/chat/completions", "/v1/chat/completions"],
    ["/api/nope", "other"],
    ["/wp-admin/../x", "other"],
  ];
  for (const [path, expected] of cases) assert.equal(endpointLabel(path), expected, path);
});

Deno.test("model labels admit names Ollama vouched for, up to the cap", () => {
  const labels = new ModelLabels({ max: 2 });
  assert.equal(labels.label("llama3.2:latest"), OTHER_MODEL);
  assert.equal(labels.label(""), "");
  assert.equal(labels.admit("llama3.2"), "llama3.2:latest");
  assert.equal(labels.label("llama3.2:latest"), "llama3.2:latest");
  assert.equal(labels.admit("qwen2.5:0.5b"), "qwen2.5:0.5b");
  assert.equal(labels.admit("phi3"), OTHER_MODEL);
  assert.equal(labels.admit("llama3.2:latest"), "llama3.2:latest");
  assert.equal(labels.size, 2);
});
