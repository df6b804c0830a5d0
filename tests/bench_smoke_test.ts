/**
 * The load benchmark still runs: `bench/load.ts --smoke --targets exporter --minutes 0.05` (every
 * workload and every phase through the exporter, with `direct` as the yardstick: 1 s per wrk cell,
 * 50 streams, a 5 MB body, 3 s of mixed traffic) exits 0 and writes a number into every cell. It
 * takes about 17 s; the yardsticks `bare`, `tap` and `nginx` are left to `deno task bench:smoke`,
 * which `.ci/run` runs after this suite (about 35 s). wrk is required: .ci/run installs it, so a
 * machine without it fails here instead of skipping the benchmark silently.
 */

import assert from "node:assert/strict";
import { assertNumber, type Json, requireWrk, runBenchScript } from "./support/bench_smoke.ts";

const TIME_LIMIT_MS = 120_000;
/** The targets measured; `direct` is always measured too. */
const TARGETS = ["exporter"];

Deno.test("bench/load.ts --smoke through the exporter measures every cell and exits 0", async () => {
  requireWrk("the benchmark's throughput cells cannot run");
  const { report } = await runBenchScript(
    "load.ts",
    ["--smoke", "--targets", TARGETS.join(","), "--minutes", "0.05"],
    TIME_LIMIT_MS,
  );
  assert.deepEqual(report.problems, []);
  const machine = report.machine as Json;
  assertNumber(machine.nproc, "machine.nproc");
  assert.equal(typeof machine.cpu_model, "string");
  assert.equal(typeof machine.deno, "string");

  assert.deepEqual((report.settings as Json).targets, ["direct", ...TARGETS]);
  const targets = ["direct", ...TARGETS];
  const workloads = ["generate", "chat", "sse", "tags"];
  const cells = report.cells as Json[];
  for (const workload of workloads) {
    for (const target of targets) {
      const cell = cells.find((c) => c.workload === workload && c.target === target);
      assert.ok(cell, `no cell for ${workload} through ${target}`);
      for (const field of ["rps", "p50_ms", "p99_ms", "proxy_cpu_us_per_req"]) {
        assertNumber(cell[field], `${workload}/${target} ${field}`);
      }
      assert.ok((cell.rps as number) > 0, `${workload}/${target} served no request`);
    }
    const ratios = (report.ratios as Record<string, Json>)[workload];
    assert.ok(ratios, `no ratios for ${workload}`);
    const rps = ratios.rps as Json;
    assertNumber(rps["exporter/direct"], `${workload} ratio exporter/direct`);
  }

  const latency = report.stream_latency as Json[];
  for (const target of targets) {
    const row = latency.find((r) => r.target === target);
    assert.ok(row, `no streaming latency for ${target}`);
    assertNumber(row.delay_p50_ms, `${target} delay p50`);
    assertNumber(row.delay_p99_ms, `${target} delay p99`);
    if (target !== "direct") assertNumber(row.extra_p50_ms, `${target} extra p50`);
  }
  const proxies = targets.filter((target) => target !== "direct");
  const concurrency = report.concurrency as Json[];
  const large = report.large_body as Json[];
  for (const target of proxies) {
    const held = concurrency.find((row) => row.target === target);
    assert.ok(held, `no concurrency row for ${target}`);
    for (const field of ["completed", "peak_rss_kib", "rss_per_stream_kib", "peak_fds"]) {
      assertNumber(held[field], `concurrency ${target} ${field}`);
    }
    assert.equal(held.completed, held.streams, `streams through ${target} did not all complete`);
    const body = large.find((row) => row.target === target);
    assert.ok(body, `no large-body row for ${target}`);
    for (const field of ["rss_growth_kib", "proxy_mb_per_s", "direct_mb_per_s"]) {
      assertNumber(body[field], `large body ${target} ${field}`);
    }
    assert.equal(body.identical, true, `the large body changed on its way through ${target}`);
  }
  const exporterHeld = concurrency.find((row) => row.target === "exporter") as Json;
  assertNumber(exporterHeld.in_flight_seen, "concurrency exporter in_flight_seen");
  assertNumber(exporterHeld.metrics_scrape_ms, "concurrency exporter metrics_scrape_ms");
  const endurance = report.endurance as Json;
  for (const field of ["requests", "rss_growth_kib", "fd_growth", "in_flight_after"]) {
    assertNumber(endurance[field], `endurance.${field}`);
  }
  assertNumber((endurance.first as Json).rss_kib, "endurance.first.rss_kib");
  assertNumber((endurance.last as Json).rss_kib, "endurance.last.rss_kib");
});
