/**
 * The sizing benchmark's report: the JSON shape written under `bench/results/sizing/`, the
 * measured numbers the advice starts from, and the text tables printed at the end of a run.
 *
 * @module
 */

import type { MachineInfo } from "./machine.ts";
import { type Advice, advise, type SizingInputs } from "./sizing_advice.ts";
import type { HeldResult, IdleResult, RateCell } from "./sizing_fast.ts";
import type { RealResult } from "./sizing_real.ts";
import { table } from "./text_table.ts";

/** Everything one run wrote. */
export interface SizingReport {
  readonly started: string;
  readonly finished: string;
  readonly machine: MachineInfo;
  readonly settings: Record<string, unknown>;
  /** The 1, 5 and 15 minute load averages before the first phase and after the last. */
  readonly load_before: [number, number, number];
  readonly load_after: [number, number, number];
  readonly idle?: IdleResult;
  readonly rate?: RateCell[];
  readonly held?: HeldResult[];
  readonly real?: RealResult;
  /** Phases that did not run, and why. */
  readonly skipped: Record<string, string>;
  readonly inputs: SizingInputs | null;
  readonly advice: Advice | null;
  readonly problems: string[];
}

const max = (values: readonly number[]) => values.length === 0 ? NaN : Math.max(...values);

/**
 * The advice's inputs from the phases' results, or `null` when a phase it needs did not run.
 * CPU per chunk is the largest family's at the most concurrent streams (the per-request share of
 * those long answers included); CPU per request apart from the chunks is the largest family's fit
 * (0 without one).
 */
export function sizingInputs(parts: {
  idle?: IdleResult;
  rate?: RateCell[];
  held?: HeldResult[];
  real?: RealResult;
}): SizingInputs | null {
  const { idle, rate, held, real } = parts;
  if (!idle || !rate || rate.length === 0 || !held || held.length === 0 || !real) return null;
  const largest = max(held.flatMap((family) => family.levels.map((level) => level.streams)));
  const long = real.summary.filter((cell) =>
    cell.max_tokens === max(real.summary.map((c) => c.max_tokens))
  );
  const busyLevel = max(long.map((cell) => cell.streams));
  const lightLevel = Math.min(...long.map((cell) => cell.streams));
  const busiest = rate.reduce((a, b) => (b.window.cores > a.window.cores ? b : a));
  return {
    warm_idle_rss_kib: max([
      idle.warm_rss_kib,
      real.warm_rss_kib,
      ...held.map((h) => h.warm_rss_kib),
    ]),
    busy_peak_rss_kib: max(real.summary.map((cell) => cell.window.rss_peak_kib)),
    kib_per_stream: max(held.map((family) => family.kib_per_stream)),
    held_streams: largest,
    held_peak_rss_kib: max(
      held.flatMap((family) =>
        family.levels.filter((l) => l.streams === largest).map((l) => l.window.rss_peak_kib)
      ),
    ),
    rate_peak_rss_kib: max(rate.map((cell) => cell.window.rss_peak_kib)),
    busy_streams: busyLevel,
    cpu_us_per_chunk: max(
      long.filter((cell) => cell.streams === busyLevel).map((cell) => cell.cpu_us_per_chunk),
    ),
    light_streams: lightLevel,
    cpu_us_per_chunk_light: max(
      long.filter((cell) => cell.streams === lightLevel).map((cell) => cell.cpu_us_per_chunk),
    ),
    cpu_us_per_request: real.fits.length > 0
      ? max(real.fits.map((fit) => fit.fixed_us_per_request))
      : 0,
    rate_max_cores: busiest.window.cores,
    rate_max_rps: busiest.rps,
    idle_millicores: idle.idle_millicores,
  };
}

/** The advice for `inputs`, or `null` without inputs. */
export function adviceFor(inputs: SizingInputs | null): Advice | null {
  if (inputs === null) return null;
  const values = Object.values(inputs);
  return values.every((value) => Number.isFinite(value)) ? advise(inputs) : null;
}

const mib = (kib: number) => (kib / 1024).toFixed(1);

/** The report as text tables. */
export function formatSizing(report: SizingReport): string {
  const out: string[] = [];
  const m = report.machine;
  out.push(
    `Sizing: ${m.nproc} CPU (${m.cpu_model}), Deno ${m.deno}; load average ` +
      `${report.load_before.join(" ")} before, ${report.load_after.join(" ")} after`,
  );
  if (report.idle) {
    const idle = report.idle;
    out.push(
      "",
      `Idle: RSS ${mib(idle.cold_rss_kib)} MiB ready, ${mib(idle.warm_rss_kib)} MiB warm; ` +
        `${idle.idle_millicores} millicores idle`,
    );
  }
  if (report.real) {
    const real = report.real;
    out.push(
      "",
      `Beside a busy real Ollama ${real.ollama_version} (${real.model}, OLLAMA_NUM_PARALLEL=` +
        `${real.num_parallel}); RSS ${mib(real.cold_rss_kib)} MiB ready, ` +
        `${mib(real.warm_rss_kib)} warm, ${mib(real.rss_after_kib)} after, VmHWM ` +
        `${mib(real.hwm_kib)}; medians of runs:`,
      table(
        [
          "family",
          "streams",
          "max tok",
          "req",
          "tok/s",
          "chunks/s",
          "µs/req",
          "µs/chunk",
          "µs/token",
          "cores",
          "RSS peak MiB",
          "Ollama cores",
          "load",
        ],
        real.summary.map((c) => [
          c.family,
          c.streams,
          c.max_tokens,
          c.requests,
          c.tokens_per_s,
          c.chunks_per_s,
          c.cpu_us_per_request,
          c.cpu_us_per_chunk,
          c.cpu_us_per_token,
          c.window.cores,
          mib(c.window.rss_peak_kib),
          c.ollama_cores,
          `${c.window.load_start}→${c.window.load_end}`,
        ]),
      ),
    );
    if (real.fits.length > 0) {
      out.push(
        "Fixed and per-chunk CPU: " +
          real.fits.map((fit) =>
            `${fit.family} ${fit.fixed_us_per_request} µs/req + ${fit.us_per_chunk} µs/chunk`
          ).join("; "),
      );
    }
    if (real.scrape) {
      out.push(
        `/metrics scrape: ${real.scrape.cpu_ms_per_scrape} ms CPU, ${real.scrape.ms_per_scrape} ` +
          `ms, ${real.scrape.bytes} bytes`,
      );
    }
  }
  if (report.rate) {
    out.push(
      "",
      "Full request rate (fast fake upstream, wrk):",
      table(
        ["workload", "conns", "req/s", "µs/req", "µs/chunk", "cores", "RSS start→peak MiB", "load"],
        report.rate.map((c) => [
          c.workload,
          c.connections,
          c.rps,
          c.cpu_us_per_request,
          c.cpu_us_per_chunk ?? "-",
          c.window.cores,
          `${mib(c.window.rss_start_kib)}→${mib(c.window.rss_peak_kib)}`,
          `${c.window.load_start}→${c.window.load_end}`,
        ]),
      ),
    );
  }
  if (report.held) {
    out.push(
      "",
      "Streams held open at once (fast fake upstream, paced):",
      table(
        [
          "family",
          "streams",
          "done",
          "RSS open MiB",
          "RSS peak MiB",
          "heap MiB",
          "µs/chunk",
          "chunks/s",
          "cores",
          "load",
        ],
        report.held.flatMap((family) =>
          family.levels.map((l) => [
            l.family,
            l.streams,
            l.completed,
            mib(l.rss_open_kib),
            mib(l.window.rss_peak_kib),
            `${l.heap_used_mib}/${l.heap_total_mib}`,
            l.cpu_us_per_chunk,
            l.chunks_per_s,
            l.window.cores,
            `${l.window.load_start}→${l.window.load_end}`,
          ])
        ),
      ),
      ...report.held.map((family) =>
        `${family.family}: ${family.kib_per_stream} KiB per stream over warm ` +
        `${mib(family.warm_rss_kib)} MiB; ${mib(family.rss_after_kib)} MiB after, VmHWM ` +
        `${mib(family.hwm_kib)} MiB`
      ),
    );
  }
  for (const [phase, why] of Object.entries(report.skipped)) out.push(`Skipped ${phase}: ${why}`);
  if (report.advice) {
    const a = report.advice;
    out.push(
      "",
      `Recommendation: requests memory ${a.memory_request_mib}Mi, cpu ${a.cpu_request_millicores}m; ` +
        `limits memory ${a.memory_limit_mib}Mi, cpu none (if required: ` +
        `${a.cpu_limit_if_required_millicores}m)`,
      table(
        ["tokens/s", "req/s", "millicores"],
        a.cpu_at_token_rates.map((r) => [r.tokens_per_s, r.requests_per_s, r.millicores]),
      ),
      table(["open streams", "MiB"], a.memory_at_streams.map((r) => [r.streams, r.mib])),
      ...a.reasoning.map((line) => `- ${line}`),
    );
  }
  if (report.problems.length > 0) {
    out.push("", "Problems:", ...report.problems.map((problem) => `- ${problem}`));
  }
  return out.join("\n");
}
