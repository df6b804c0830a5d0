/**
 * The benchmark report: ratios between targets, and the plain-text tables printed at the end of
 * a run.
 *
 * @module
 */

import type { ConcurrencyResult } from "./concurrency.ts";
import type { EnduranceResult } from "./endurance.ts";
import type { TargetName } from "./fleet.ts";
import type { LargeBodyResult } from "./large_body.ts";
import type { MachineInfo } from "./machine.ts";
import { formatOtel, type OtelSection } from "./otel_report.ts";
import { ratio } from "./stats.ts";
import type { StreamLatencyResult } from "./stream_latency.ts";
import { fixed, table } from "./text_table.ts";
import type { Cell, TransparencyCheck } from "./throughput.ts";
import type { WorkloadName } from "./workloads.ts";

/** The ratios reported per workload: numerator and denominator targets. */
export const RATIO_PAIRS: readonly (readonly [TargetName, TargetName])[] = [
  ["exporter", "bare"],
  ["exporter", "tap"],
  ["exporter", "direct"],
  ["nginx", "direct"],
  ["exporter-otel", "bare"],
  ["exporter-before", "bare"],
  ["exporter", "exporter-before"],
  ["exporter-otel", "exporter"],
];

/** The ratios of the main table (the two exporter-to-exporter ones go to the OpenTelemetry part). */
const TABLE_PAIRS = RATIO_PAIRS.filter(([a, b]) =>
  !(a.startsWith("exporter") && b.startsWith("exporter"))
);

/** Ratios of one workload, keyed `"exporter/bare"` and so on. */
export interface WorkloadRatios {
  /** Requests per second, numerator over denominator (below 1: slower). */
  readonly rps: Record<string, number>;
  /** Median latency, numerator over denominator (above 1: slower). */
  readonly p50: Record<string, number>;
  readonly p99: Record<string, number>;
  /** Proxy CPU µs per request, numerator over denominator (above 1: costlier); proxies only. */
  readonly cpu: Record<string, number>;
}

/** Everything one run wrote to `bench/results/latest.json`. */
export interface BenchReport {
  readonly schema: 1;
  readonly started_at: string;
  readonly finished_at: string;
  readonly machine: MachineInfo;
  readonly settings: Record<string, unknown>;
  readonly transparency: TransparencyCheck[];
  readonly cells: Cell[];
  readonly ratios: Partial<Record<WorkloadName, WorkloadRatios>>;
  readonly stream_latency: StreamLatencyResult[] | null;
  readonly concurrency: ConcurrencyResult[] | null;
  readonly large_body: LargeBodyResult[] | null;
  readonly endurance: EnduranceResult | null;
  /** Exporter variants compared, and what the OTLP sink received; `null` when none ran. */
  readonly opentelemetry: OtelSection | null;
  /** What went wrong or looked wrong; empty on a clean run. */
  readonly problems: string[];
}

/** Computes the ratios of every workload from the cells. */
export function ratiosOf(cells: readonly Cell[]): Partial<Record<WorkloadName, WorkloadRatios>> {
  const result: Partial<Record<WorkloadName, WorkloadRatios>> = {};
  const workloads = [...new Set(cells.map((cell) => cell.workload))];
  for (const workload of workloads) {
    const find = (target: TargetName) =>
      cells.find((cell) => cell.workload === workload && cell.target === target);
    const rps: Record<string, number> = {};
    const p50: Record<string, number> = {};
    const p99: Record<string, number> = {};
    const cpu: Record<string, number> = {};
    for (const [a, b] of RATIO_PAIRS) {
      const top = find(a);
      const bottom = find(b);
      if (!top || !bottom) continue;
      const key = `${a}/${b}`;
      rps[key] = ratio(top.rps, bottom.rps);
      p50[key] = ratio(top.p50_ms, bottom.p50_ms);
      p99[key] = ratio(top.p99_ms, bottom.p99_ms);
      if (a !== "direct" && b !== "direct") {
        cpu[key] = ratio(top.proxy_cpu_us_per_req, bottom.proxy_cpu_us_per_req);
      }
    }
    result[workload] = { rps, p50, p99, cpu };
  }
  return result;
}

/** The whole report as text. */
export function formatReport(report: BenchReport): string {
  const out: string[] = [];
  const m = report.machine;
  out.push(
    `Machine: ${m.nproc} CPUs (${m.cpu_model}), ${(m.mem_total_kib / 1048576).toFixed(1)} GiB, ` +
      `Linux ${m.kernel}, Deno ${m.deno}, ${m.wrk ?? "no wrk"}, ${m.nginx ?? "no nginx"}`,
  );
  const s = report.settings;
  out.push(
    `Settings: ${s.duration}s per cell, ${s.connections} connections, ${s.threads} wrk thread(s), ` +
      `${s.repeat} repeat(s), placement ${s.placement}`,
  );
  if (report.cells.length > 0) {
    out.push("", "Throughput (wrk)");
    out.push(table(
      [
        "workload",
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "proxy CPU µs/req",
        "upstream CPU µs/req",
        "errors",
      ],
      report.cells.map((cell) => [
        cell.workload,
        cell.target,
        fixed(cell.rps, 0),
        fixed(cell.p50_ms, 2),
        fixed(cell.p99_ms, 2),
        cell.target === "direct" ? "-" : fixed(cell.proxy_cpu_us_per_req, 0),
        fixed(cell.upstream_cpu_us_per_req, 0),
        String(cell.non2xx + cell.socket_errors),
      ]),
    ));
    out.push("", "Ratios (req/s; p50 and p99 latency in brackets)");
    const keys = TABLE_PAIRS.map(([a, b]) => `${a}/${b}`).filter((key) =>
      Object.values(report.ratios).some((ratios) => ratios.rps[key] !== undefined)
    );
    out.push(table(
      ["workload", ...keys],
      Object.entries(report.ratios).map(([workload, ratios]) => [
        workload,
        ...keys.map((key) =>
          ratios.rps[key] === undefined
            ? "-"
            : `${fixed(ratios.rps[key], 2)} [${fixed(ratios.p50[key], 2)}, ${
              fixed(ratios.p99[key], 2)
            }]`
        ),
      ]),
    ));
  }
  if (report.opentelemetry) out.push(...formatOtel(report.opentelemetry));
  const opaque = report.transparency.filter((check) => !check.identical);
  out.push(
    "",
    opaque.length === 0
      ? `Transparency: ${report.transparency.length} target×workload answers identical to the upstream's (status, content-type, body)`
      : `Transparency: ${opaque.length} answers differ: ${
        opaque.map((c) => `${c.workload}/${c.target}: ${c.differences.join("; ")}`).join(" | ")
      }`,
  );
  if (report.stream_latency) {
    out.push("", "Streaming latency (per chunk: upstream write → client read)");
    out.push(table(
      ["target", "chunks", "p50 ms", "p99 ms", "max ms", "extra p50 ms", "extra p99 ms"],
      report.stream_latency.map((row) => [
        row.target,
        String(row.chunks),
        fixed(row.delay_p50_ms, 3),
        fixed(row.delay_p99_ms, 3),
        fixed(row.delay_max_ms, 3),
        fixed(row.extra_p50_ms, 3),
        fixed(row.extra_p99_ms, 3),
      ]),
    ));
  }
  if (report.concurrency) {
    const first = report.concurrency[0];
    out.push(
      "",
      `Concurrency: ${first?.streams ?? 0} slow streams held open through a fresh proxy`,
      table(
        [
          "target",
          "complete",
          "failed",
          "idle RSS MiB",
          "peak RSS MiB",
          "KiB/stream",
          "idle fds",
          "peak fds",
          "in flight",
          "scrape ms",
          "heap used/total MiB",
        ],
        report.concurrency.map((row) => [
          row.target,
          String(row.completed),
          String(row.failed),
          fixed(row.baseline_rss_kib / 1024, 1),
          fixed(Math.max(row.peak_rss_kib, row.target === "nginx" ? 0 : row.hwm_kib) / 1024, 1),
          fixed(row.rss_per_stream_kib, 1),
          String(row.baseline_fds),
          String(row.peak_fds),
          row.in_flight_seen === undefined ? "-" : String(row.in_flight_seen),
          fixed(row.metrics_scrape_ms, 1),
          row.heap_used_mib === undefined
            ? "-"
            : `${fixed(row.heap_used_mib, 1)}/${fixed(row.heap_total_mib, 1)}`,
        ]),
      ),
    );
  }
  if (report.large_body) {
    const first = report.large_body[0];
    out.push(
      "",
      `Large body: ${((first?.body_bytes ?? 0) / 1e6).toFixed(1)} MB /api/embed through a fresh ` +
        `proxy (direct ${fixed(first?.direct_mb_per_s, 0)} MB/s)`,
      table(
        ["target", "identical", "idle RSS MiB", "peak RSS MiB", "growth MiB", "MB/s", "observed"],
        report.large_body.map((row) => [
          row.target,
          row.identical ? "yes" : "NO",
          fixed(row.baseline_rss_kib / 1024, 1),
          fixed(row.peak_rss_kib / 1024, 1),
          fixed(row.rss_growth_kib / 1024, 1),
          fixed(row.proxy_mb_per_s, 0),
          row.embed_metric_names === undefined
            ? "-"
            : `${row.embed_metric_names.length} families, ${row.tokens_processed} tokens`,
        ]),
      ),
    );
  }
  const e = report.endurance;
  if (e) {
    out.push(
      "",
      `Endurance: ${e.requests} requests in ${e.seconds} s (${e.requests_per_s} req/s), ` +
        `${e.unexpected} unexpected outcomes`,
      table(
        ["window", "from s", "to s", "RSS MiB", "fds", "req/s"],
        [["first", e.first], ["last", e.last]].map(([name, w]) => {
          const window = w as EnduranceResult["first"];
          return [
            name as string,
            fixed(window.from_s, 0),
            fixed(window.to_s, 0),
            fixed(window.rss_kib / 1024, 1),
            fixed(window.fds, 1),
            fixed(window.requests_per_s, 0),
          ];
        }),
      ),
      `  idle before: ${(e.idle_rss_kib / 1024).toFixed(1)} MiB, ${e.idle_fds} fds; ` +
        `RSS growth first → last window ${
          (e.rss_growth_kib / 1024).toFixed(1)
        } MiB, fd growth ${e.fd_growth}, ` +
        `peak ${
          (e.hwm_kib / 1024).toFixed(1)
        } MiB; after: ${e.fds_after} fds, ${e.in_flight_after} in flight`,
    );
  }
  if (report.problems.length > 0) {
    out.push("", "Problems:", ...report.problems.map((problem) => `  - ${problem}`));
  }
  return out.join("\n");
}
