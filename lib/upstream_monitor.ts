/**
 * Periodic checks of Ollama: `GET /api/version` decides `ollama_up` and readiness, and
 * `GET /api/tags` admits the installed models as `model` label values. Problems are logged once
 * when they start and once when they end, not at every check.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import { Gauge } from "./metrics/gauge.ts";
import type { Registry } from "./metrics/registry.ts";
import type { ModelLabels } from "./model_labels.ts";
import type { Upstream } from "./proxy/upstream.ts";
import { errorDetail } from "./error_detail.ts";

/** Keeps track of whether Ollama answers, and which version it is. */
export class UpstreamMonitor {
  #upstream: Upstream;
  #models: ModelLabels;
  #logger: Logger;
  #up = false;
  #checked = false;
  #version: string | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> | undefined;
  #timeoutMs: number;
  #upGauge: Gauge;
  #info: Gauge;

  /**
   * Registers the `ollama_info` gauge; no check runs until {@linkcode check} or {@linkcode start}.
   *
   * @param upstream the Ollama connection.
   * @param options where to record (`registry`, `up` gauge), `models` to admit, the `logger`,
   * and `timeoutMs` for each check.
   */
  constructor(
    upstream: Upstream,
    options: {
      registry: Registry;
      up: Gauge;
      models: ModelLabels;
      logger: Logger;
      timeoutMs?: number;
    },
  ) {
    this.#upstream = upstream;
    this.#models = options.models;
    this.#logger = options.logger;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#upGauge = options.up;
    this.#info = options.registry.register(
      new Gauge({
        name: "ollama_info",
        help: "Ollama's version, from GET /api/version (absent while Ollama does not answer).",
        labelNames: ["version"],
      }),
    );
  }

  /** Whether the last check succeeded. */
  get up(): boolean {
    return this.#up;
  }

  /** Ollama's version from the last successful check. */
  get version(): string | null {
    return this.#version;
  }

  /** Ollama's address. */
  get upstream(): string {
    return this.#upstream.base;
  }

  /** Checks Ollama now; resolves when the check is over (it never rejects). */
  check(): Promise<void> {
    this.#running ??= this.#check().finally(() => this.#running = undefined);
    return this.#running;
  }

  /** Checks now and then every `intervalSeconds` until {@linkcode stop}. */
  start(intervalSeconds: number): Promise<void> {
    this.#timer = setInterval(() => this.check(), intervalSeconds * 1000);
    return this.check();
  }

  /** Stops the periodic checks and waits for one under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #check(): Promise<void> {
    let version: string;
    try {
      const response = await this.#upstream.get("/api/version", { timeoutMs: this.#timeoutMs });
      const body = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const parsed = JSON.parse(body) as { version?: unknown };
      version = typeof parsed.version === "string" ? parsed.version : "unknown";
    } catch (error) {
      this.#setDown(error);
      return;
    }
    if (!this.#up || version !== this.#version) {
      this.#logger.info("Ollama is up", { upstream: this.#upstream.base, version });
    }
    this.#up = true;
    this.#checked = true;
    this.#version = version;
    this.#upGauge.set(1);
    this.#info.reset();
    this.#info.labels(version).set(1);
    await this.#admitInstalledModels();
  }

  #setDown(error: unknown): void {
    if (this.#up || !this.#checked) {
      const detail = errorDetail(error);
      this.#logger.warn("Ollama does not answer; proxied requests will get 502 until it does", {
        upstream: this.#upstream.base,
        error: detail,
      });
    }
    this.#up = false;
    this.#checked = true;
    this.#upGauge.set(0);
    this.#info.reset();
  }

  async #admitInstalledModels(): Promise<void> {
    try {
      const response = await this.#upstream.get("/api/tags", { timeoutMs: this.#timeoutMs });
      const body = await response.text();
      if (!response.ok) return;
      const parsed = JSON.parse(body) as { models?: { name?: unknown; model?: unknown }[] };
      for (const entry of parsed.models ?? []) {
        const name = entry.name ?? entry.model;
        if (typeof name === "string") this.#models.admit(name);
      }
    } catch (error) {
      this.#logger.debug("Cannot list Ollama's models", {
        error: errorDetail(error),
      });
    }
  }
}
