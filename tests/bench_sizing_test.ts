/**
 * The sizing benchmark still runs: `bench/sizing.ts --smoke` (every phase, tiny: 1 s wrk cells,
 * 20 and 50 held streams, a second of idleness, and, when the real Ollama of `../shared/` is
 * there, two concurrent 16-token generations per API family) exits 0, writes a number into every
 * field the advice is computed from, and the advice itself. About 20 s. wrk is required (as for
 * `bench_smoke_test.ts`: `.ci/run` installs it); without the real Ollama the `real` phase is
 * skipped, the JSON says why, and there is no advice.
 *
 * The arithmetic of the advice is checked on its own with fixed inputs.
 */

import assert from "node:assert/strict";
import { advise, mibWithStreams, millicoresAt, type SizingInputs } from "../bench/sizing_advice.ts";
import { fitLine } from "../bench/sizing_fast.ts";
import { assertNumber, type Json, requireWrk, runBenchScript } from "./support/bench_smoke.ts";
import { REAL_OLLAMA_START_ABSENT } from "./support/real_ollama.ts";

const TIME_LIMIT_MS = 120_000;

function assertPositive(value: unknown, what: string): void {
  assertNumber(value, what);
  assert.ok(value > 0, `${what} should be positive, got ${value}`);
}

Deno.test("bench/sizing.ts --smoke measures every phase and derives requests and limits", async () => {
  requireWrk("the sizing benchmark's rate phase cannot run");
  const { text, report } = await runBenchScript("sizing.ts", ["--smoke"], TIME_LIMIT_MS);
  assert.match(text, /Full request rate/);

  assert.deepEqual(report.problems, []);
  for (const load of [report.load_before, report.load_after]) {
    assert.ok(Array.isArray(load) && load.length === 3, "load averages are recorded");
  }

  const idle = report.idle as Json;
  assertPositive(idle.cold_rss_kib, "idle.cold_rss_kib");
  assertPositive(idle.warm_rss_kib, "idle.warm_rss_kib");
  assertNumber(idle.idle_millicores, "idle.idle_millicores");

  const rate = report.rate as Json[];
  assert.deepEqual(rate.map((cell) => cell.workload), ["generate", "chat", "sse", "tags"]);
  for (const cell of rate) {
    assertPositive(cell.rps, `rate ${cell.workload} rps`);
    assertPositive(cell.cpu_us_per_request, `rate ${cell.workload} cpu_us_per_request`);
    assertPositive((cell.window as Json).rss_peak_kib, `rate ${cell.workload} rss_peak_kib`);
  }

  const held = report.held as Json[];
  assert.equal(held.length, 1);
  const levels = held[0]!.levels as Json[];
  assert.deepEqual(levels.map((level) => level.streams), [20, 50]);
  for (const level of levels) {
    assert.equal(level.completed, level.streams, `held ×${level.streams}: all complete`);
    assert.equal(
      level.in_flight_seen,
      level.streams,
      `/metrics counts ${level.streams} in flight`,
    );
    assertPositive(level.rss_open_kib, `held ×${level.streams} rss_open_kib`);
    assertPositive(level.cpu_us_per_chunk, `held ×${level.streams} cpu_us_per_chunk`);
  }
  assertNumber(held[0]!.kib_per_stream, "held kib_per_stream");

  if (REAL_OLLAMA_START_ABSENT !== null) {
    assert.equal(typeof (report.skipped as Json).real, "string");
    assert.equal(report.advice, null);
    return;
  }
  const real = report.real as Json;
  assert.equal(typeof real.ollama_version, "string");
  const summary = real.summary as Json[];
  assert.deepEqual(summary.map((cell) => cell.family), ["native", "openai", "messages"]);
  for (const cell of summary) {
    const what = `real ${cell.family}`;
    assertPositive(cell.requests, `${what} requests`);
    assert.equal(cell.failed, 0, `${what}: no generation failed`);
    assertPositive(cell.chunks, `${what} chunks`);
    assertPositive(cell.tokens, `${what} tokens (from ollama_tokens_generated_total)`);
    assertNumber(cell.cpu_us_per_token, `${what} cpu_us_per_token`);
    assertPositive((cell.window as Json).rss_peak_kib, `${what} rss_peak_kib`);
  }
  const inputs = report.inputs as Json;
  for (const [key, value] of Object.entries(inputs)) assertNumber(value, `inputs.${key}`);
  const advice = report.advice as Json;
  assertPositive(advice.memory_request_mib, "advice.memory_request_mib");
  assertPositive(advice.cpu_request_millicores, "advice.cpu_request_millicores");
  assert.ok(
    (advice.memory_limit_mib as number) > (advice.memory_request_mib as number),
    "the memory limit is above the request",
  );
  assert.equal(advice.cpu_limit_millicores, null);
  assert.ok((advice.reasoning as string[]).length >= 4);
});

const INPUTS: SizingInputs = {
  warm_idle_rss_kib: 64 * 1024,
  busy_peak_rss_kib: 80 * 1024,
  kib_per_stream: 80,
  held_streams: 2000,
  held_peak_rss_kib: 220 * 1024,
  rate_peak_rss_kib: 90 * 1024,
  busy_streams: 16,
  cpu_us_per_chunk: 100,
  light_streams: 1,
  cpu_us_per_chunk_light: 250,
  cpu_us_per_request: 1000,
  rate_max_cores: 0.98,
  rate_max_rps: 3500,
  idle_millicores: 0,
};

Deno.test("the sizing advice follows its stated arithmetic", () => {
  // 1,000 tokens/s × 100 µs + 1000/256 requests/s × 1,000 µs = 100 + 3.9 ms per second.
  assert.equal(Math.round(millicoresAt(INPUTS, 1000, 256) * 10) / 10, 103.9);
  assert.equal(mibWithStreams(INPUTS, 600), 64 + 600 * 80 / 1024);
  const advice = advise(INPUTS);
  // 80 MiB × 1.2 = 96, already a multiple of 16.
  assert.equal(advice.memory_request_mib, 96);
  // (64 + 600 × 80 KiB = 46.875 + max(32, 90 − 64)) × 1.25 = 179.8, rounded up to 32: 192.
  assert.equal(advice.memory_limit_mib, 192);
  // 103.9 × 1.5 = 155.9, rounded up to 50: 200.
  assert.equal(advice.cpu_request_millicores, 200);
  assert.equal(advice.cpu_limit_millicores, null);
  assert.equal(advice.cpu_limit_if_required_millicores, 1000);
  assert.deepEqual(advice.cpu_at_token_rates.map((row) => row.tokens_per_s), [100, 1000, 5000]);
});

Deno.test("the memory per stream is the least-squares slope of RSS over streams", () => {
  const { slope, intercept } = fitLine([[0, 100], [100, 300], [200, 500]]);
  assert.equal(slope, 2);
  assert.equal(intercept, 100);
  assert.ok(Number.isNaN(fitLine([[0, 1]]).slope));
});
