/**
 * The OpenTelemetry part of a load run's report: per workload, the exporter with OpenTelemetry
 * off against the exporter before the feature (`--baseline`), and on against off, in requests per
 * second and in the proxy's CPU per request; what the OTLP sink received; and the problems that
 * show the spans were not really exported.
 *
 * @module
 */

import type { Cell } from "./throughput.ts";
import type { SinkReport } from "./exporter_variants.ts";
import type { Baseline } from "./baseline.ts";
import type { TargetName } from "./fleet.ts";
import type { SinkCounts } from "./otlp_sink.ts";
import { ratio } from "./stats.ts";
import { fixed, table } from "./text_table.ts";
import type { WorkloadName } from "./workloads.ts";

/** One workload's comparison; a ratio is `NaN` when a target was not measured. */
export interface OtelComparison {
  readonly workload: WorkloadName;
  /** req/s of `exporter` (OpenTelemetry off) over `exporter-before` (above 1: faster now). */
  readonly off_vs_before_rps: number;
  /** req/s of `exporter-otel` over `exporter` (below 1: OpenTelemetry on costs throughput). */
  readonly on_vs_off_rps: number;
  /** Proxy CPU µs per request of `exporter` over `exporter-before` (above 1: costs more now). */
  readonly off_vs_before_cpu: number;
  /** Proxy CPU µs per request of `exporter-otel` over `exporter`. */
  readonly on_vs_off_cpu: number;
  /** req/s over `bare` of `exporter-before`, `exporter` and `exporter-otel`. */
  readonly before_bare_rps: number;
  readonly exporter_bare_rps: number;
  readonly otel_bare_rps: number;
}

/** The `opentelemetry` section of the JSON results. */
export interface OtelSection {
  /** The earlier revision `exporter-before` ran, when `--baseline` was given. */
  readonly baseline: { readonly rev: string; readonly commit: string } | null;
  /** What the OTLP sink received, when `exporter-otel` ran. */
  readonly sink: SinkReport | null;
  readonly workloads: OtelComparison[];
}

/** Compares the exporter variants, workload by workload, from the throughput cells. */
export function compareOtel(cells: readonly Cell[]): OtelComparison[] {
  const workloads = [...new Set(cells.map((cell) => cell.workload))];
  return workloads.map((workload) => {
    const cell = (target: TargetName) =>
      cells.find((c) => c.workload === workload && c.target === target);
    const [bare, before, off, on] =
      (["bare", "exporter-before", "exporter", "exporter-otel"] as const)
        .map(cell);
    return {
      workload,
      off_vs_before_rps: ratio(off?.rps, before?.rps),
      on_vs_off_rps: ratio(on?.rps, off?.rps),
      off_vs_before_cpu: ratio(off?.proxy_cpu_us_per_req, before?.proxy_cpu_us_per_req),
      on_vs_off_cpu: ratio(on?.proxy_cpu_us_per_req, off?.proxy_cpu_us_per_req),
      before_bare_rps: ratio(before?.rps, bare?.rps),
      exporter_bare_rps: ratio(off?.rps, bare?.rps),
      otel_bare_rps: ratio(on?.rps, bare?.rps),
    };
  });
}

/** The section, or `null` when neither `exporter-otel` nor `exporter-before` was measured. */
export function otelSection(
  targets: readonly TargetName[],
  cells: readonly Cell[],
  baseline: Baseline | null,
  sink: SinkReport | null,
): OtelSection | null {
  if (!targets.includes("exporter-otel") && !targets.includes("exporter-before")) return null;
  return {
    baseline: baseline ? { rev: baseline.rev, commit: baseline.commit } : null,
    sink,
    workloads: compareOtel(cells),
  };
}

/**
 * What the sink's counts show went wrong: `exporter-otel` was measured but no trace body (or no
 * metric body) reached the sink, or the counts could not be read.
 */
export function sinkProblems(sink: SinkReport | null, throughputRan: boolean): string[] {
  if (!sink) return [];
  if (sink.error !== undefined || !sink.at_end) {
    return [`OTLP sink: cannot read what it received (${sink.error ?? "no counts"})`];
  }
  const problems: string[] = [];
  if (throughputRan && sink.after_throughput && sink.after_throughput.traces.requests === 0) {
    problems.push(
      "OTLP sink: exporter-otel exported no spans during the throughput cells (0 trace bodies)",
    );
  }
  if (sink.at_end.traces.requests === 0) {
    problems.push("OTLP sink: received 0 trace bodies in the whole run: spans were not exported");
  }
  if (sink.at_end.metrics.requests === 0) {
    problems.push(
      "OTLP sink: received 0 metric bodies in the whole run: metrics were not exported",
    );
  }
  return problems;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function describeCounts(counts: SinkCounts): string {
  return `${counts.traces.requests} trace bodies (${kib(counts.traces.bytes)}), ` +
    `${counts.metrics.requests} metric bodies (${kib(counts.metrics.bytes)}), ` +
    `${counts.logs.requests} log bodies (${kib(counts.logs.bytes)})` +
    (counts.other.requests > 0 ? `, ${counts.other.requests} other requests` : "");
}

/** The section as text lines. */
export function formatOtel(section: OtelSection): string[] {
  const out: string[] = [""];
  out.push(
    "OpenTelemetry (req/s ratios; proxy CPU µs/req ratios in brackets)" +
      (section.baseline
        ? `; before = ${section.baseline.rev} (${section.baseline.commit.slice(0, 12)})`
        : ""),
  );
  if (section.workloads.length > 0) {
    out.push(table(
      [
        "workload",
        "before/bare",
        "exporter/bare",
        "exporter-otel/bare",
        "off vs before",
        "on vs off",
      ],
      section.workloads.map((row) => [
        row.workload,
        fixed(row.before_bare_rps),
        fixed(row.exporter_bare_rps),
        fixed(row.otel_bare_rps),
        `${fixed(row.off_vs_before_rps)} [${fixed(row.off_vs_before_cpu)}]`,
        `${fixed(row.on_vs_off_rps)} [${fixed(row.on_vs_off_cpu)}]`,
      ]),
    ));
    for (const row of section.workloads) {
      out.push(
        `  ${row.workload}: OpenTelemetry off vs before: ${fixed(row.off_vs_before_rps)} / ` +
          `OpenTelemetry on vs off: ${fixed(row.on_vs_off_rps)} (throughput ratios)`,
      );
    }
  }
  const sink = section.sink;
  if (sink) {
    if (sink.after_throughput) {
      out.push(`OTLP sink after the throughput cells: ${describeCounts(sink.after_throughput)}`);
    }
    out.push(
      sink.at_end
        ? `OTLP sink at the end of the run: ${describeCounts(sink.at_end)}`
        : `OTLP sink: counts unreadable (${sink.error ?? "unknown"})`,
    );
  }
  return out;
}
