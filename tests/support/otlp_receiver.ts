/**
 * Test helper: a REAL OpenTelemetry metrics receiver (VictoriaMetrics 1.112) from
 * `../shared/otlp-receiver` beside the project, started on a free port of 127.0.0.1 with its own
 * `start.sh`. A program under test pushes OTLP/HTTP metrics to
 * {@linkcode OtlpReceiver.metricsEndpoint}; the test reads them back with PromQL
 * ({@linkcode OtlpReceiver.query}).
 *
 * `OTLP_RECEIVER_DIR` names another folder holding `start.sh` and `victoria-metrics`. When there
 * is none, {@linkcode OTLP_RECEIVER_ABSENT} says why, in one line, and the tests that need the
 * receiver use it as their `ignore` condition.
 *
 * @module
 */

import { sampleValue } from "./exposition.ts";
import { freePort, optionalEnv, stopProcess } from "./processes.ts";

/** The receiver's folder: `OTLP_RECEIVER_DIR`, or `<repo>/../shared/otlp-receiver/`. */
export const OTLP_RECEIVER_DIR: URL = receiverDir();

/**
 * Why the receiver cannot be started (one line, for the log), or `null` when it can: its folder
 * holds `start.sh` and the `victoria-metrics` binary.
 */
export const OTLP_RECEIVER_ABSENT: string | null = absentReason();

/** One sample of an instant vector: its labels (with `__name__` when kept) and value. */
export interface ReceiverSample {
  /** The series' labels, `__name__` included (when the query keeps it). */
  readonly metric: Readonly<Record<string, string>>;
  /** The sample's value (`Infinity` for `+Inf`). */
  readonly value: number;
}

/** A running receiver. Start with {@link OtlpReceiver.start}; always {@link close} it. */
export class OtlpReceiver {
  /** Base URL, e.g. `http://127.0.0.1:43125` (no trailing slash). */
  readonly url: string;
  /** The receiver's process id. */
  readonly pid: number;
  #closed: Promise<void> | undefined;

  private constructor(port: number, pid: number) {
    this.url = `http://127.0.0.1:${port}`;
    this.pid = pid;
  }

  /**
   * Starts the receiver on a free port of 127.0.0.1 (`start.sh` returns once `/health`
   * answers). A port taken between picking and binding is retried with another (up to 3
   * attempts). Throws when {@linkcode OTLP_RECEIVER_ABSENT} is set or the receiver does not start.
   */
  static async start(): Promise<OtlpReceiver> {
    if (OTLP_RECEIVER_ABSENT !== null) {
      throw new Error(`Cannot start the OTLP receiver: ${OTLP_RECEIVER_ABSENT}`);
    }
    let lastError = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = freePort();
      const output = await new Deno.Command("bash", {
        args: [fileIn("start.sh"), String(port)],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(output.stdout).trim();
      const pid = Number(stdout.split("\n").at(-1));
      if (output.success && Number.isInteger(pid) && pid > 0) return new OtlpReceiver(port, pid);
      lastError = `exit code ${output.code}: ${new TextDecoder().decode(output.stderr).trim()}`;
    }
    throw new Error(`Cannot start the OTLP receiver with ${fileIn("start.sh")}: ${lastError}`);
  }

  /** `<url>/opentelemetry/v1/metrics`: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`. */
  get metricsEndpoint(): string {
    return `${this.url}/opentelemetry/v1/metrics`;
  }

  /**
   * Evaluates an instant query (MetricsQL, a superset of PromQL; metric names keep their dots,
   * e.g. `otlp.support.size_count`) and returns the vector, or a one-element vector without
   * labels for a scalar. Throws, naming the query, when the API answers an error or a matrix.
   *
   * It first asks the receiver to make what it ingested searchable (`/internal/force_flush`):
   * without that, VictoriaMetrics 1.112 shows new series about 2 s after they arrive, and to a
   * query that already ran before they arrived only about 10 s later (measured here).
   */
  async query(promql: string): Promise<ReceiverSample[]> {
    let response: Response;
    try {
      const flushed = await fetch(`${this.url}/internal/force_flush`, {
        signal: AbortSignal.timeout(10_000),
      });
      await flushed.body?.cancel();
      if (!flushed.ok) throw new Error(`/internal/force_flush answered HTTP ${flushed.status}`);
      response = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: promql })}`, {
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new Error(
        `Cannot query ${promql} at ${this.url}: ${error instanceof Error ? error.message : error}`,
        { cause: error },
      );
    }
    const text = await response.text();
    let parsed: {
      status?: string;
      data?: { resultType?: string; result?: unknown };
      errorType?: string;
      error?: string;
    };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`Cannot query ${promql}: HTTP ${response.status}, not JSON: ${text}`);
    }
    if (!response.ok || parsed.status !== "success" || parsed.data === undefined) {
      throw new Error(
        `Cannot query ${promql}: HTTP ${response.status}, ${parsed.errorType ?? "error"}: ` +
          (parsed.error ?? text),
      );
    }
    const { resultType, result } = parsed.data;
    if (resultType === "scalar") {
      const [, value] = result as [number, string];
      return [{ metric: {}, value: sampleValue(value) }];
    }
    if (resultType !== "vector") {
      throw new Error(`Cannot read query ${promql}: expected a vector, got a ${resultType}`);
    }
    return (result as { metric: Record<string, string>; value: [number, string] }[]).map(
      (entry) => ({ metric: entry.metric, value: sampleValue(entry.value[1]) }),
    );
  }

  /**
   * Polls {@link query} (every 100 ms) until `predicate` holds for its vector, and returns that
   * vector. Throws after `timeoutMs`, with the last vector (or query error) seen.
   */
  async waitFor(
    promql: string,
    predicate: (samples: readonly ReceiverSample[]) => boolean,
    options: { timeoutMs: number },
  ): Promise<ReceiverSample[]> {
    const deadline = Date.now() + options.timeoutMs;
    let last = "nothing yet";
    for (;;) {
      try {
        const samples = await this.query(promql);
        if (predicate(samples)) return samples;
        last = samples.length === 0
          ? "an empty vector"
          : samples.map((s) => `${JSON.stringify(s.metric)} ${s.value}`).join(", ");
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out after ${options.timeoutMs} ms waiting for ${promql} at ${this.url}; ` +
            `last seen: ${last}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops the receiver (SIGTERM, SIGKILL after 10 s) and waits until it is gone. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= stopProcess(this.pid, "the OTLP receiver");
    return this.#closed;
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function fileIn(name: string): string {
  return decodeURIComponent(new URL(name, OTLP_RECEIVER_DIR).pathname);
}

function receiverDir(): URL {
  const trimmed = optionalEnv("OTLP_RECEIVER_DIR");
  if (trimmed === "") return new URL("../../../shared/otlp-receiver/", import.meta.url);
  const absolute = trimmed.startsWith("/") ? trimmed : `${Deno.cwd()}/${trimmed}`;
  return new URL(`file://${absolute.replace(/\/*$/, "/")}`);
}

function absentReason(): string | null {
  const missing = ["start.sh", "victoria-metrics"].filter((name) => {
    try {
      return !Deno.statSync(fileIn(name)).isFile;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return null;
  return `OTLP receiver tests skipped: no ${fileIn(missing[0]!)} (put the shared/ folder beside ` +
    "the project, or set OTLP_RECEIVER_DIR to a folder with start.sh and victoria-metrics)";
}
