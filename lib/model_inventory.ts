/**
 * The loaded-model inventory, read from Ollama's `GET /api/ps` at scrape time: how many models are
 * loaded, the memory each holds in VRAM and RAM, the seconds until Ollama unloads it, and its
 * context length. A scrape never waits long on a busy Ollama: the call has a short timeout, its
 * answer is cached briefly, and concurrent scrapes share one call. When Ollama does not answer,
 * the families are absent rather than stale.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import { Gauge } from "./metrics/gauge.ts";
import type { Registry } from "./metrics/registry.ts";
import { type ModelLabels, OTHER_MODEL } from "./model_labels.ts";
import type { Upstream } from "./proxy/upstream.ts";
import { errorDetail } from "./error_detail.ts";

/** One entry of `/api/ps`, as far as the inventory reads it. */
interface LoadedModel {
  name?: unknown;
  model?: unknown;
  size?: unknown;
  size_vram?: unknown;
  expires_at?: unknown;
  context_length?: unknown;
}

function finite(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The shortest time between two `/api/ps` calls made for context lengths, in milliseconds. */
export const CONTEXT_CALL_INTERVAL_MS = 500;

/** Registers the inventory families and fills them at collect time. */
export class ModelInventory {
  #upstream: Upstream;
  #models: ModelLabels;
  #logger: Logger;
  #timeoutMs: number;
  #cacheMs: number;
  #fetchedAt = -Infinity;
  #pending: Promise<void> | undefined;
  #failing = false;
  #loaded: Gauge;
  #memory: Gauge;
  #expiry: Gauge;
  #context: Gauge;
  /** The context length of each model label, as last reported (kept while a model is unloaded). */
  #contextLengths = new Map<string, number>();
  /** When the last `/api/ps` call that succeeded was sent (`performance.now()`). */
  #answeredSince = -Infinity;
  /** Requests for a context length waiting for an answer sent after their time. */
  #waiting: { model: string; since: number; resolve: (length: number | undefined) => void }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * Registers the inventory gauges in `registry`; they stay absent until `/api/ps` answers.
   *
   * @param upstream the Ollama connection.
   * @param options `registry` to register in, `models` (label admission), `logger`,
   * `timeoutMs` for the `/api/ps` call (default 1000) and `cacheMs` (default 2000).
   */
  constructor(
    upstream: Upstream,
    options: {
      registry: Registry;
      models: ModelLabels;
      logger: Logger;
      timeoutMs?: number;
      cacheMs?: number;
    },
  ) {
    this.#upstream = upstream;
    this.#models = options.models;
    this.#logger = options.logger;
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#cacheMs = options.cacheMs ?? 2000;
    const collect = () => this.refresh();
    const registry = options.registry;
    this.#loaded = registry.register(
      new Gauge({
        name: "ollama_loaded_models",
        help: "Models Ollama holds in memory (GET /api/ps).",
        collect,
      }),
    );
    this.#memory = registry.register(
      new Gauge({
        name: "ollama_model_memory_bytes",
        help: "Memory a loaded model holds, by location: vram (GPU) or ram (system memory).",
        labelNames: ["model", "location"],
        collect,
      }),
    );
    this.#expiry = registry.register(
      new Gauge({
        name: "ollama_model_expiry_seconds",
        help: "Seconds until Ollama unloads the model (its keep_alive runs out).",
        labelNames: ["model"],
        collect,
      }),
    );
    this.#context = registry.register(
      new Gauge({
        name: "ollama_model_context_length",
        help: "Context length the loaded model was started with, in tokens.",
        labelNames: ["model"],
        collect,
      }),
    );
    this.#setAbsent();
  }

  /**
   * The context length of the model labelled `model` as `/api/ps` reports it in an answer to a
   * call sent at or after `since` (`performance.now()`): a request that reloaded the model with
   * another `num_ctx` is measured against the new length. Calls made for this are at least
   * {@linkcode CONTEXT_CALL_INTERVAL_MS} apart and serve every waiting request at once. Resolves
   * with the last length known when Ollama no longer lists the model, or `undefined`.
   */
  contextLengthAt(model: string, since: number): Promise<number | undefined> {
    if (this.#answeredSince >= since) return Promise.resolve(this.#contextLengths.get(model));
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiting.push({ model, since, resolve });
      this.#schedule();
    });
  }

  /** Stops asking for context lengths; waiting requests get `undefined`. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiting of this.#waiting.splice(0)) waiting.resolve(undefined);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#pending !== undefined || this.#waiting.length === 0) {
      return;
    }
    const wait = Math.max(0, this.#fetchedAt + CONTEXT_CALL_INTERVAL_MS - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#fetchedAt = -Infinity;
      void this.refresh();
    }, wait);
  }

  #serveWaiting(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const entry of waiting) {
      if (this.#answeredSince >= entry.since || this.#failing) {
        // Answered late enough, or Ollama does not answer: the last length known.
        entry.resolve(this.#contextLengths.get(entry.model));
      } else if (this.#closed) {
        entry.resolve(undefined);
      } else {
        this.#waiting.push(entry);
      }
    }
    this.#schedule();
  }

  /** Reads `/api/ps` unless a recent answer is cached; shared by concurrent callers. */
  refresh(): Promise<void> {
    if (performance.now() - this.#fetchedAt < this.#cacheMs) return Promise.resolve();
    this.#pending ??= this.#fetch().finally(() => {
      this.#pending = undefined;
      this.#fetchedAt = performance.now();
      // Any call, a scrape's too, serves the requests waiting for a context length.
      if (this.#waiting.length > 0) this.#serveWaiting();
    });
    return this.#pending;
  }

  async #fetch(): Promise<void> {
    const sent = performance.now();
    let entries: LoadedModel[];
    try {
      const response = await this.#upstream.get("/api/ps", { timeoutMs: this.#timeoutMs });
      const body = await response.text();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const parsed = JSON.parse(body) as { models?: unknown };
      if (!Array.isArray(parsed.models)) throw new Error("the answer has no models list");
      entries = parsed.models as LoadedModel[];
    } catch (error) {
      if (!this.#failing) {
        this.#logger.warn("Cannot read loaded models from Ollama (GET /api/ps)", {
          error: errorDetail(error),
        });
      }
      this.#failing = true;
      this.#setAbsent();
      return;
    }
    this.#failing = false;
    this.#set(entries, Date.now());
    this.#answeredSince = sent;
  }

  #setAbsent(): void {
    for (const family of [this.#loaded, this.#memory, this.#expiry, this.#context]) {
      family.reset();
      family.exported = false;
    }
  }

  #set(entries: LoadedModel[], now: number): void {
    this.#memory.reset();
    this.#expiry.reset();
    this.#context.reset();
    this.#loaded.set(entries.length);
    for (const entry of entries) {
      const name = entry.name ?? entry.model;
      if (typeof name !== "string") continue;
      const model = this.#models.admit(name);
      const size = finite(entry.size) ?? 0;
      const vram = finite(entry.size_vram) ?? 0;
      this.#memory.labels(model, "vram").inc(vram);
      this.#memory.labels(model, "ram").inc(Math.max(0, size - vram));
      if (model === OTHER_MODEL) continue;
      const expires = typeof entry.expires_at === "string" ? Date.parse(entry.expires_at) : NaN;
      if (Number.isFinite(expires)) {
        this.#expiry.labels(model).set(Math.max(0, (expires - now) / 1000));
      }
      const context = finite(entry.context_length);
      if (context !== undefined) {
        this.#context.labels(model).set(context);
        this.#contextLengths.set(model, context);
      }
    }
    for (const family of [this.#loaded, this.#memory, this.#expiry, this.#context]) {
      family.exported = true;
    }
  }
}
