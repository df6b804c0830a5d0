/**
 * What a load run needs for the exporter variants: the OTLP sink that `exporter-otel` exports to
 * (started when that target is measured) and the earlier revision that `exporter-before` runs
 * (written out when `--baseline` is given). {@linkcode RunVariants.finish} reads what the sink
 * received and stops it.
 *
 * @module
 */

import { type Baseline, extractBaseline } from "./baseline.ts";
import { type ExporterVariants, REPO_ROOT, type TargetName } from "./fleet.ts";
import { OtlpSink, type SinkCounts } from "./otlp_sink.ts";

/** What the sink had received at the points of a run where it was read. */
export interface SinkReport {
  /** Where `exporter-otel` exported to. */
  readonly endpoint: string;
  /** Everything received by the end of the throughput phase, or `null` when it did not run. */
  readonly after_throughput: SinkCounts | null;
  /** Everything received by the end of the run (every `exporter-otel` process stopped). */
  readonly at_end: SinkCounts | null;
  /** Why the counts could not be read, when they could not. */
  readonly error?: string;
}

/** The sink and the baseline of one run; always {@linkcode RunVariants.finish} it. */
export class RunVariants {
  /** The earlier revision, when `--baseline` was given. */
  readonly baseline: Baseline | null;
  #sink: OtlpSink | null;
  #afterThroughput: SinkCounts | null = null;

  private constructor(baseline: Baseline | null, sink: OtlpSink | null) {
    this.baseline = baseline;
    this.#sink = sink;
  }

  /**
   * Starts the sink when `targets` has `exporter-otel`, and writes out `baselineRev` under
   * `tempDir` when `targets` has `exporter-before`.
   */
  static async prepare(
    targets: readonly TargetName[],
    options: { baselineRev?: string; tempDir: string; cpus?: string },
  ): Promise<RunVariants> {
    let baseline: Baseline | null = null;
    if (targets.includes("exporter-before")) {
      if (options.baselineRev === undefined) {
        throw new Error("The exporter-before target needs --baseline REV");
      }
      baseline = await extractBaseline(REPO_ROOT, options.baselineRev, options.tempDir);
    }
    const sink = targets.includes("exporter-otel")
      ? await OtlpSink.start(options.cpus !== undefined ? { cpus: options.cpus } : {})
      : null;
    return new RunVariants(baseline, sink);
  }

  /** What `startProxy` needs for `exporter-otel` and `exporter-before`. */
  get variants(): ExporterVariants {
    return {
      ...(this.#sink ? { otlpEndpoint: this.#sink.endpoint } : {}),
      ...(this.baseline ? { baselineRoot: this.baseline.root } : {}),
    };
  }

  /** Notes what the sink has received once the throughput cells are done. */
  async throughputDone(): Promise<void> {
    if (this.#sink) this.#afterThroughput = await this.#sink.counts();
  }

  /**
   * Reads the sink's final counts (call it after every `exporter-otel` has stopped, so that what
   * they flush at exit is counted) and stops the sink; `null` when no sink ran.
   */
  async finish(): Promise<SinkReport | null> {
    const sink = this.#sink;
    if (!sink) return null;
    this.#sink = null;
    try {
      return {
        endpoint: sink.endpoint,
        after_throughput: this.#afterThroughput,
        at_end: await sink.counts(),
      };
    } catch (error) {
      return {
        endpoint: sink.endpoint,
        after_throughput: this.#afterThroughput,
        at_end: null,
        error: error instanceof Error ? error.message : String(error),
      };
    } finally {
      await sink.stop();
    }
  }
}
