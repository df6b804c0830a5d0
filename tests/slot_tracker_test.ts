/**
 * `ollama_requests_waiting` per model: requests in flight beyond Ollama's parallelism, with one
 * slot for a model used on an embedding endpoint (Ollama runs embedding models one request at a
 * time, whatever `OLLAMA_NUM_PARALLEL` says).
 */

import assert from "node:assert/strict";
import { Gauge } from "../lib/metrics/gauge.ts";
import { SlotTracker } from "../lib/observe/slot_tracker.ts";

function waiting(gauge: Gauge, model: string): number {
  return gauge.labels(model).value;
}

Deno.test("requests beyond the parallelism wait; an embedding model has one slot", () => {
  const gauge = new Gauge({ name: "ollama_requests_waiting", help: "h", labelNames: ["model"] });
  const slots = new SlotTracker(gauge, { parallel: 4 });
  for (let i = 0; i < 6; i++) slots.enter("llama3.2:latest", "/api/chat");
  for (let i = 0; i < 3; i++) slots.enter("nomic-embed-text:latest", "/api/embed");
  assert.equal(waiting(gauge, "llama3.2:latest"), 2);
  assert.equal(waiting(gauge, "nomic-embed-text:latest"), 2);
  slots.leave("llama3.2:latest");
  slots.leave("nomic-embed-text:latest");
  assert.equal(waiting(gauge, "llama3.2:latest"), 1);
  assert.equal(waiting(gauge, "nomic-embed-text:latest"), 1);
  for (let i = 0; i < 5; i++) slots.leave("llama3.2:latest");
  assert.equal(waiting(gauge, "llama3.2:latest"), 0);
});
