/**
 * Test helper: the real `prometheus` binary as a subprocess on 127.0.0.1, with a generated
 * configuration, its TSDB in a temporary directory, and small clients for the HTTP API
 * (`/api/v1/query`, `/api/v1/targets`, `/api/v1/query_exemplars`).
 *
 * Without the binary, {@link PrometheusServer.start} throws an error that says how to install it:
 * a test that needs Prometheus fails rather than passing silently.
 *
 * @module
 */

import { sampleValue } from "./exposition.ts";
import { freePort } from "./processes.ts";

/** One target of a scrape job with several, and the labels added to its series. */
export interface StaticTarget {
  /** `host:port` to scrape. */
  readonly address: string;
  /** Target labels (e.g. the `pod` label Kubernetes discovery adds); none by default. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** One scrape job of the generated configuration, with its static targets. */
export interface ScrapeJob {
  /** `job_name`, and so the `job` label of every scraped series. */
  readonly name: string;
  /**
   * `host:port` to scrape, or several targets of the one job (one `static_configs` entry each,
   * with its labels).
   */
  readonly target: string | readonly StaticTarget[];
  /** Path to scrape (default `/metrics`). */
  readonly metricsPath?: string;
}

/** Options of {@link PrometheusServer.start}. */
export interface PrometheusOptions {
  /** The scrape jobs. */
  readonly jobs: readonly ScrapeJob[];
  /** `scrape_interval` and `evaluation_interval` in seconds (default 1). */
  readonly intervalSeconds?: number;
  /** The binary (default `prometheus`, looked up on the PATH). */
  readonly binary?: string;
  /** How long to wait for `/-/ready`, ms (default 20 000). */
  readonly readyTimeoutMs?: number;
  /** Feature flags to enable (`--enable-feature=…`), e.g. `exemplar-storage`; none by default. */
  readonly features?: readonly string[];
}

/** One sample of an instant vector: its labels (with `__name__` when kept) and value. */
export interface VectorSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One exemplar of `/api/v1/query_exemplars`. */
export interface StoredExemplar {
  /** The exemplar's own labels, e.g. `{ trace_id: "…" }`. */
  readonly labels: Readonly<Record<string, string>>;
  /** The exemplar's value. */
  readonly value: number;
  /** Seconds since the epoch (milliseconds as the fraction). */
  readonly timestamp: number;
}

/** The exemplars of one series, as `/api/v1/query_exemplars` returns them. */
export interface SeriesExemplars {
  /** The series' labels, `__name__` included. */
  readonly seriesLabels: Readonly<Record<string, string>>;
  /** Its exemplars, oldest first. */
  readonly exemplars: readonly StoredExemplar[];
}

/** The fields of an active target of `/api/v1/targets` that tests read. */
export interface ActiveTarget {
  readonly labels: Readonly<Record<string, string>>;
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly health: string;
  readonly lastError: string;
  /** RFC 3339 time the last scrape started. */
  readonly lastScrape: string;
}

/** Shown when the binary is missing. */
export const INSTALL_HINT = "install it with `apt-get install prometheus` (Debian/Ubuntu) or put " +
  "the prometheus binary from https://prometheus.io/download/ on the PATH";

/** A running Prometheus. Start with {@link PrometheusServer.start}; always {@link close} it. */
export class PrometheusServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** The configuration file's text (YAML; JSON syntax). */
  readonly configText: string;
  #child: Deno.ChildProcess;
  #dir: string;
  #log: { text: string };
  #logDone: Promise<void>;
  #closed: Promise<void> | undefined;

  private constructor(
    child: Deno.ChildProcess,
    port: number,
    dir: string,
    configText: string,
    log: { text: string },
    logDone: Promise<void>,
  ) {
    this.#child = child;
    this.url = `http://127.0.0.1:${port}`;
    this.#dir = dir;
    this.configText = configText;
    this.#log = log;
    this.#logDone = logDone;
  }

  /**
   * Writes the configuration into a new temporary directory, starts Prometheus with its TSDB
   * there, and waits until `/-/ready` answers 200. A port taken between picking and binding is
   * retried with another (up to 3 attempts). Throws, having stopped the process and removed the
   * directory, when the binary is missing, Prometheus exits, or it is not ready in time.
   */
  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const interval = `${options.intervalSeconds ?? 1}s`;
    const config = {
      global: {
        scrape_interval: interval,
        scrape_timeout: interval,
        evaluation_interval: interval,
      },
      scrape_configs: options.jobs.map((job) => ({
        job_name: job.name,
        metrics_path: job.metricsPath ?? "/metrics",
        static_configs: typeof job.target === "string"
          ? [{ targets: [job.target] }]
          : job.target.map((target) => ({
            targets: [target.address],
            ...(target.labels === undefined ? {} : { labels: target.labels }),
          })),
      })),
    };
    const configText = JSON.stringify(config, null, 2) + "\n";
    const dir = await Deno.makeTempDir({ prefix: "prometheus_e2e_" });
    try {
      await Deno.writeTextFile(`${dir}/prometheus.yml`, configText);
      for (let attempt = 1;; attempt++) {
        const server = PrometheusServer.#launch(options, dir, configText);
        const outcome = await server.#waitReady(options.readyTimeoutMs ?? 20_000);
        if (outcome === "ready") return server;
        const log = server.#log.text;
        await server.#stop();
        if (outcome === "exited" && /address already in use/.test(log) && attempt < 3) continue;
        throw new Error(
          outcome === "exited"
            ? `Cannot start Prometheus: it exited during start-up. Its log:\n${log}`
            : `Cannot start Prometheus: ${server.url}/-/ready did not answer 200 within ` +
              `${options.readyTimeoutMs ?? 20_000} ms. Its log:\n${log}`,
        );
      }
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  static #launch(options: PrometheusOptions, dir: string, configText: string): PrometheusServer {
    const port = freePort();
    const binary = options.binary ?? "prometheus";
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(binary, {
        args: [
          `--config.file=${dir}/prometheus.yml`,
          `--storage.tsdb.path=${dir}/data`,
          `--web.listen-address=127.0.0.1:${port}`,
          "--log.level=info",
          ...(options.features?.length ? [`--enable-feature=${options.features.join(",")}`] : []),
        ],
        cwd: dir,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error(`Cannot run Prometheus: "${binary}" is not installed; ${INSTALL_HINT}.`);
      }
      throw new Error(`Cannot run Prometheus ("${binary}"): ${(error as Error).message}`, {
        cause: error,
      });
    }
    const log = { text: "" };
    const logDone = (async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) log.text += text;
    })();
    return new PrometheusServer(child, port, dir, configText, log, logDone);
  }

  async #waitReady(timeoutMs: number): Promise<"ready" | "exited" | "timeout"> {
    let exited = false;
    const status = this.#child.status.then(() => exited = true);
    const deadline = Date.now() + timeoutMs;
    try {
      while (Date.now() < deadline) {
        if (exited) return "exited";
        try {
          const response = await fetch(`${this.url}/-/ready`);
          await response.body?.cancel();
          if (response.ok) return "ready";
        } catch {
          // Not listening yet.
        }
        const pause = timer(100);
        await Promise.race([status, pause.elapsed]);
        pause.cancel();
      }
      return exited ? "exited" : "timeout";
    } finally {
      // `status` settles when the process ends; nothing else waits on it here.
      status.catch(() => {});
    }
  }

  /** Everything Prometheus has logged so far (its stderr). */
  get log(): string {
    return this.#log.text;
  }

  /**
   * Evaluates an instant query (at `time`, seconds since the epoch, or now) and returns the
   * vector, or a one-element vector without labels for a scalar. Throws, naming the query, when
   * the API answers an error or a matrix.
   */
  async query(expr: string, time?: number): Promise<VectorSample[]> {
    const params = new URLSearchParams({ query: expr });
    if (time !== undefined) params.set("time", String(time));
    const body = await this.#api(`/api/v1/query?${params}`, `query ${expr}`) as {
      resultType: string;
      result: unknown;
    };
    if (body.resultType === "scalar") {
      const [, value] = body.result as [number, string];
      return [{ metric: {}, value: sampleValue(value) }];
    }
    if (body.resultType !== "vector") {
      throw new Error(`Cannot read query ${expr}: expected a vector, got a ${body.resultType}`);
    }
    return (body.result as { metric: Record<string, string>; value: [number, string] }[]).map(
      (entry) => ({ metric: entry.metric, value: sampleValue(entry.value[1]) }),
    );
  }

  /**
   * The single value an instant query returns, or `undefined` for an empty vector. Throws when
   * the vector has more than one sample (the query is not specific enough).
   */
  async value(expr: string, time?: number): Promise<number | undefined> {
    const samples = await this.query(expr, time);
    if (samples.length > 1) {
      throw new Error(
        `Cannot read one value of ${expr}: it returned ${samples.length} series: ` +
          samples.map((s) => JSON.stringify(s.metric)).join(", "),
      );
    }
    return samples[0]?.value;
  }

  /**
   * The exemplars of the series `expr` selects between `start` and `end` (seconds since the
   * epoch), from `/api/v1/query_exemplars` (needs the `exemplar-storage` feature).
   */
  async exemplars(expr: string, start: number, end: number): Promise<SeriesExemplars[]> {
    const params = new URLSearchParams({ query: expr, start: String(start), end: String(end) });
    const body = await this.#api(`/api/v1/query_exemplars?${params}`, `exemplars of ${expr}`) as {
      seriesLabels: Record<string, string>;
      exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
    }[];
    return body.map((entry) => ({
      seriesLabels: entry.seriesLabels,
      exemplars: entry.exemplars.map((exemplar) => ({
        labels: exemplar.labels,
        value: sampleValue(exemplar.value),
        timestamp: exemplar.timestamp,
      })),
    }));
  }

  /** The active targets of `/api/v1/targets`. */
  async targets(): Promise<ActiveTarget[]> {
    const body = await this.#api("/api/v1/targets?state=active", "the targets") as {
      activeTargets: ActiveTarget[];
    };
    return body.activeTargets;
  }

  async #api(path: string, what: string): Promise<unknown> {
    const response = await fetch(this.url + path);
    const text = await response.text();
    let parsed: { status?: string; data?: unknown; errorType?: string; error?: string };
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`Cannot read ${what}: HTTP ${response.status}, not JSON: ${text}`);
    }
    if (!response.ok || parsed.status !== "success") {
      throw new Error(
        `Cannot read ${what}: HTTP ${response.status}, ${parsed.errorType ?? "error"}: ` +
          (parsed.error ?? text),
      );
    }
    return parsed.data;
  }

  /**
   * Stops Prometheus (SIGTERM, then SIGKILL after 10 s), waits for its exit and its log, and
   * removes the temporary directory. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        await this.#stop();
      } finally {
        await Deno.remove(this.#dir, { recursive: true });
      }
    })();
    return this.#closed;
  }

  async #stop(): Promise<void> {
    let exited = false;
    const status = this.#child.status.then(() => exited = true);
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    const grace = timer(10_000);
    await Promise.race([status, grace.elapsed]);
    grace.cancel();
    if (!exited) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    await status;
    await this.#logDone;
  }
}

/** Polls `probe` every `everyMs` until it returns a value other than `undefined`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs?: number; everyMs?: number; detail?: () => string } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if (result !== undefined) return result;
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}` +
          (options.detail ? `: ${options.detail()}` : ""),
      );
    }
    await timer(options.everyMs ?? 100).elapsed;
  }
}

/** A timer that can be cleared before it fires (so none outlives a test). */
function timer(ms: number): { elapsed: Promise<void>; cancel: () => void } {
  let id: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<void>((resolve) => id = setTimeout(resolve, ms));
  return { elapsed, cancel: () => clearTimeout(id) };
}
