/**
 * The load harness's OpenTelemetry parts without running a load: the OTLP sink counts what it is
 * sent, `--targets`/`--baseline` choose `exporter-otel` and `exporter-before` as documented, the
 * comparison divides the right cells, a run whose sink saw no trace body is a problem, and
 * `--baseline` writes out an earlier revision that can be started. The smoke run through every
 * target (`deno task bench:smoke`, in .ci/run) exercises them under load.
 */

import assert from "node:assert/strict";
import { extractBaseline } from "../bench/baseline.ts";
import { REPO_ROOT, startTaskFlags } from "../bench/fleet.ts";
import { parseLoadArgs } from "../bench/load.ts";
import { compareOtel, sinkProblems } from "../bench/otel_report.ts";
import { countsBetween, emptyCounts, sinkHandler } from "../bench/otlp_sink.ts";
import type { Cell } from "../bench/throughput.ts";

Deno.test("the OTLP sink counts bodies and bytes per signal and answers an empty protobuf", async () => {
  const sink = sinkHandler();
  const post = (path: string, bytes: number) =>
    sink.handler(
      new Request(`http://sink${path}`, { method: "POST", body: new Uint8Array(bytes) }),
    );
  const traces = await post("/v1/traces", 300);
  assert.equal(traces.status, 200);
  assert.equal(traces.headers.get("content-type"), "application/x-protobuf");
  assert.equal((await traces.arrayBuffer()).byteLength, 0);
  await post("/v1/traces", 200);
  await post("/v1/metrics", 50);
  const other = await post("/v1/profiles", 7);
  assert.equal(other.status, 404);
  await other.body?.cancel();

  const counts = await (await sink.handler(new Request("http://sink/counts"))).json();
  assert.deepEqual(counts, {
    traces: { requests: 2, bytes: 500 },
    metrics: { requests: 1, bytes: 50 },
    logs: { requests: 0, bytes: 0 },
    other: { requests: 1, bytes: 7 },
  });
  assert.deepEqual(countsBetween(emptyCounts(), counts), counts);
});

Deno.test("exporter-otel is measured by default; exporter-before only with --baseline", () => {
  const defaults = parseLoadArgs([]);
  assert.ok(defaults !== "help");
  assert.ok(defaults.targets.includes("exporter-otel"));
  assert.ok(!defaults.targets.includes("exporter-before"));
  assert.equal(defaults.baseline, undefined);

  const withBaseline = parseLoadArgs(["--targets", "exporter,bare", "--baseline", "4587ad4"]);
  assert.ok(withBaseline !== "help");
  assert.deepEqual(withBaseline.targets, ["direct", "bare", "exporter-before", "exporter"]);
  assert.equal(withBaseline.baseline, "4587ad4");

  assert.throws(() => parseLoadArgs(["--targets", "exporter-before"]), /--baseline/);
});

function cell(workload: Cell["workload"], target: Cell["target"], rps: number, cpu: number): Cell {
  return {
    workload,
    target,
    rps,
    p50_ms: 1,
    p75_ms: 1,
    p90_ms: 1,
    p99_ms: 2,
    mean_ms: 1,
    max_ms: 3,
    requests: rps * 10,
    non2xx: 0,
    socket_errors: 0,
    proxy_cpu_us_per_req: cpu,
    upstream_cpu_us_per_req: 50,
    rps_runs: [rps],
  };
}

Deno.test("the comparison divides exporter by exporter-before and exporter-otel by exporter", () => {
  const [chat] = compareOtel([
    cell("chat", "bare", 1000, 400),
    cell("chat", "exporter-before", 1500, 250),
    cell("chat", "exporter", 1200, 300),
    cell("chat", "exporter-otel", 900, 600),
  ]);
  assert.ok(chat);
  assert.equal(chat.off_vs_before_rps, 0.8);
  assert.equal(chat.off_vs_before_cpu, 1.2);
  assert.equal(chat.on_vs_off_rps, 0.75);
  assert.equal(chat.on_vs_off_cpu, 2);
  assert.equal(chat.otel_bare_rps, 0.9);
  const [alone] = compareOtel([cell("tags", "exporter", 10, 1)]);
  assert.ok(alone && Number.isNaN(alone.off_vs_before_rps));
});

Deno.test("a run whose OTLP sink received no trace body reports a problem", () => {
  const nothing = { endpoint: "http://x", after_throughput: emptyCounts(), at_end: emptyCounts() };
  const problems = sinkProblems(nothing, true);
  assert.ok(problems.some((problem) => /0 trace bodies/.test(problem)), problems.join("\n"));
  const received = {
    ...emptyCounts(),
    traces: { requests: 3, bytes: 900 },
    metrics: { requests: 1, bytes: 80 },
  };
  assert.deepEqual(
    sinkProblems({ endpoint: "http://x", after_throughput: received, at_end: received }, true),
    [],
  );
  assert.deepEqual(sinkProblems(null, true), []);
});

const gitWorks = new Deno.Command("git", { args: ["-C", REPO_ROOT, "rev-parse", "HEAD"] })
  .outputSync().success;

Deno.test({
  name: "--baseline writes out a revision whose start task can be read",
  ignore: !gitWorks,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bench-baseline-" });
    try {
      const baseline = await extractBaseline(REPO_ROOT, "HEAD", dir);
      assert.match(baseline.commit, /^[0-9a-f]{40}$/);
      await Deno.stat(`${baseline.root}/main.ts`);
      assert.ok(startTaskFlags(baseline.root).some((flag) => flag.startsWith("--allow-net")));
      await assert.rejects(
        extractBaseline(REPO_ROOT, "no-such-revision-anywhere", dir),
        /--baseline no-such-revision-anywhere: not a commit/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
