import assert from "node:assert/strict";
import { registerProcessMetrics } from "../lib/metrics/process_metrics.ts";
import { Registry } from "../lib/metrics/registry.ts";
import { encodeText } from "../lib/metrics/text_format.ts";

function sampleValue(body: string, name: string): number {
  const match = body.match(new RegExp(`^${name} (\\S+)$`, "m"));
  assert.ok(match, `${name} is missing from:\n${body}`);
  return Number(match[1]);
}

Deno.test("process metrics are present and plausible (run with --allow-all: /proc is readable)", async () => {
  const errors: string[] = [];
  const registry = new Registry({ onCollectError: (name) => errors.push(name) });
  registerProcessMetrics(registry);
  assert.deepEqual(registry.names(), [
    "deno_external_memory_bytes",
    "deno_heap_total_bytes",
    "deno_heap_used_bytes",
    "process_cpu_seconds_total",
    "process_max_fds",
    "process_open_fds",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
  ]);
  let body = encodeText(await registry.collect());
  assert.deepEqual(errors, []);
  assert.ok(sampleValue(body, "process_resident_memory_bytes") > 1e6);
  assert.ok(sampleValue(body, "deno_heap_used_bytes") > 0);
  assert.ok(
    sampleValue(body, "deno_heap_total_bytes") >= sampleValue(body, "deno_heap_used_bytes"),
  );
  assert.ok(sampleValue(body, "deno_external_memory_bytes") >= 0);
  assert.ok(sampleValue(body, "process_open_fds") >= 3);
  assert.ok(sampleValue(body, "process_max_fds") >= sampleValue(body, "process_open_fds"));
  const start = sampleValue(body, "process_start_time_seconds");
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 3600);
  const cpu = sampleValue(body, "process_cpu_seconds_total");
  assert.ok(cpu > 0);

  const until = performance.now() + 30;
  while (performance.now() < until) Math.sqrt(Math.random());
  body = encodeText(await registry.collect());
  assert.ok(sampleValue(body, "process_cpu_seconds_total") > cpu, "CPU time moves forward");
  assert.match(body, /# TYPE process_cpu_seconds_total counter\n/);
});

Deno.test({
  name: "without --allow-all the fd metrics are left out silently, even with /proc readable",
  permissions: { read: ["/proc", "/proc/self", "/dev/fd"], env: true, sys: true },
  fn: async () => {
    const errors: string[] = [];
    const registry = new Registry({ onCollectError: (name) => errors.push(name) });
    registerProcessMetrics(registry);
    assert.ok(!registry.names().includes("process_open_fds"));
    assert.ok(!registry.names().includes("process_max_fds"));
    assert.ok(registry.names().includes("process_resident_memory_bytes"));
    const body = encodeText(await registry.collect());
    assert.deepEqual(errors, []);
    assert.ok(sampleValue(body, "process_cpu_seconds_total") > 0);
    assert.ok(sampleValue(body, "process_resident_memory_bytes") > 0);
  },
});
