/**
 * The sizing benchmark's busy-Ollama phase: a REAL Ollama (v0.24.0, `../shared/real-ollama`, the
 * `tiny` model) kept busy by N concurrent streaming generations, each capped at a realistic token
 * limit, through a fresh exporter; per API family (native `/api/chat` NDJSON, OpenAI
 * `/v1/chat/completions` SSE, Anthropic `/v1/messages` SSE) and per N, the exporter's CPU time per
 * request, per streamed chunk and per generated token, and its resident memory. A second, short
 * token limit at one N separates the fixed cost of a request from the cost of each chunk.
 *
 * @module
 */

import { type Endpoint, startExporter } from "./fleet.ts";
import { startRealOllamaWith } from "../tests/support/real_ollama_env.ts";
import { REAL_OLLAMA_START_ABSENT } from "../tests/support/real_ollama.ts";
import {
  type ExporterGauges,
  measureWindow,
  scrapeGauges,
  treeCpuSeconds,
  type WindowStats,
} from "./sizing_process.ts";
import { delay } from "./processes.ts";
import { median, round } from "./stats.ts";
import { readStream } from "./stream_client.ts";

/** API families measured against the real Ollama, in report order. */
export const FAMILY_NAMES = ["native", "openai", "messages"] as const;

/** One API family. */
export type FamilyName = typeof FAMILY_NAMES[number];

/** Whether `name` is a family name. */
export function isFamilyName(name: string): name is FamilyName {
  return (FAMILY_NAMES as readonly string[]).includes(name);
}

const PROMPT = "Why is the sky blue? Answer in a few paragraphs.";

interface FamilySpec {
  readonly what: string;
  readonly path: string;
  body(model: string, maxTokens: number): string;
  /** Whether a line of the answer is one chunk (one frame Ollama wrote). */
  isChunk(line: string): boolean;
  /** Whether a line ends the answer. */
  isEnd(line: string): boolean;
}

const sseData = (line: string) => line.startsWith("data:") && line !== "data: [DONE]";

/** What each family sends, every generation capped at `maxTokens`. */
export const FAMILIES: Readonly<Record<FamilyName, FamilySpec>> = {
  native: {
    what: "POST /api/chat, NDJSON stream (options.num_predict)",
    path: "/api/chat",
    body: (model, maxTokens) =>
      JSON.stringify({
        model,
        messages: [{ role: "user", content: PROMPT }],
        stream: true,
        options: { num_predict: maxTokens },
      }),
    isChunk: (line) => line.startsWith("{"),
    isEnd: (line) => line.includes('"done":true'),
  },
  openai: {
    what: "POST /v1/chat/completions, SSE stream (max_tokens; usage injected by the exporter)",
    path: "/v1/chat/completions",
    body: (model, maxTokens) =>
      JSON.stringify({
        model,
        messages: [{ role: "user", content: PROMPT }],
        stream: true,
        max_tokens: maxTokens,
      }),
    isChunk: sseData,
    isEnd: (line) => line === "data: [DONE]",
  },
  messages: {
    what: "POST /v1/messages, Anthropic SSE stream (max_tokens)",
    path: "/v1/messages",
    body: (model, maxTokens) =>
      JSON.stringify({
        model,
        max_tokens: maxTokens,
        stream: true,
        messages: [{ role: "user", content: PROMPT }],
      }),
    isChunk: sseData,
    isEnd: (line) => line.startsWith("data:") && line.includes('"type":"message_stop"'),
  },
};

/** Settings of the busy-Ollama phase. */
export interface RealOptions {
  readonly families: readonly FamilyName[];
  /** Concurrent streams, one cell per level and family. */
  readonly levels: readonly number[];
  /** The token limit of every generation (`num_predict` / `max_tokens`). */
  readonly maxTokens: number;
  /** A second, short limit measured at `shortStreams` streams (0: none). */
  readonly shortTokens: number;
  readonly shortStreams: number;
  /** Seconds each cell keeps starting generations; the last ones then finish. */
  readonly seconds: number;
  /** Every cell this many times (interleaved), the median reported. */
  readonly repeat: number;
  /** Ollama's `OLLAMA_NUM_PARALLEL` (told to the exporter too). */
  readonly numParallel: number;
  readonly model: string;
  /** `/metrics` scrapes timed at the end (0: none). */
  readonly scrapes: number;
  /** Milliseconds to wait before the warm and the final RSS readings. */
  readonly settleMs: number;
  readonly log: (line: string) => void;
}

/** One family at one level, one run. */
export interface RealCell {
  readonly family: FamilyName;
  readonly streams: number;
  readonly max_tokens: number;
  readonly run: number;
  /** Generations completed (status 200, read to the end). */
  readonly requests: number;
  readonly failed: number;
  /** Frames the clients read (NDJSON lines, SSE `data:` lines other than `[DONE]`). */
  readonly chunks: number;
  /** Output tokens, from the exporter's `ollama_tokens_generated_total`. */
  readonly tokens: number;
  readonly tokens_per_s: number;
  readonly chunks_per_s: number;
  readonly cpu_us_per_request: number;
  readonly cpu_us_per_chunk: number;
  readonly cpu_us_per_token: number;
  /** Cores Ollama (server and runner) kept busy meanwhile. */
  readonly ollama_cores: number;
  readonly heap_used_mib: number;
  readonly window: WindowStats;
  readonly first_error?: string;
}

/** The per-family split of a request's CPU into a fixed part and a part per chunk. */
export interface CostFit {
  readonly family: FamilyName;
  readonly streams: number;
  /** CPU µs per request that does not depend on its length. */
  readonly fixed_us_per_request: number;
  /** CPU µs per streamed chunk. */
  readonly us_per_chunk: number;
}

/** What the phase measured. */
export interface RealResult {
  readonly ollama_version: string;
  readonly model: string;
  readonly num_parallel: number;
  /** The exporter's VmRSS once ready, and after one generation per family. */
  readonly cold_rss_kib: number;
  readonly warm_rss_kib: number;
  readonly cells: RealCell[];
  /** Median over runs of each (family, streams, max_tokens). */
  readonly summary: RealCell[];
  readonly fits: CostFit[];
  /** VmRSS `settleMs` after the last cell, and VmHWM (peak over the whole life). */
  readonly rss_after_kib: number;
  readonly hwm_kib: number;
  readonly scrape?: {
    readonly scrapes: number;
    readonly cpu_ms_per_scrape: number;
    readonly ms_per_scrape: number;
    readonly bytes: number;
  };
  readonly problems: string[];
}

/** Why the phase cannot run here (one line), or `null` when it can. */
export function realOllamaAbsent(): string | null {
  return REAL_OLLAMA_START_ABSENT;
}

interface Driven {
  requests: number;
  failed: number;
  chunks: number;
  firstError?: string;
}

/** `streams` clients each start generations one after another until `seconds` have passed. */
async function drive(
  origin: string,
  family: FamilyName,
  options: { streams: number; maxTokens: number; seconds: number; model: string },
): Promise<Driven> {
  const spec = FAMILIES[family];
  const body = spec.body(options.model, options.maxTokens);
  const deadline = performance.now() + options.seconds * 1000;
  const driven: Driven = { requests: 0, failed: 0, chunks: 0 };
  const worker = async () => {
    do {
      let chunks = 0;
      let ended = false;
      try {
        const outcome = await readStream({
          url: origin + spec.path,
          body,
          timeoutMs: 120_000,
          onLine: (line) => {
            if (spec.isChunk(line)) chunks++;
            if (spec.isEnd(line)) ended = true;
          },
        });
        driven.chunks += chunks;
        if (outcome.status === 200 && ended) {
          driven.requests++;
        } else {
          driven.failed++;
          driven.firstError ??= `${spec.path}: status ${outcome.status}, ${outcome.lines} lines`;
        }
      } catch (error) {
        driven.chunks += chunks;
        driven.failed++;
        driven.firstError ??= `${spec.path}: ${error instanceof Error ? error.message : error}`;
        await delay(100);
      }
    } while (performance.now() < deadline);
  };
  await Promise.all(Array.from({ length: options.streams }, worker));
  return driven;
}

async function measureCell(
  exporter: Endpoint,
  ollamaPid: number | null,
  family: FamilyName,
  streams: number,
  maxTokens: number,
  run: number,
  options: RealOptions,
): Promise<RealCell> {
  const before: ExporterGauges = await scrapeGauges(exporter.origin);
  const ollamaBefore = ollamaPid === null ? NaN : await treeCpuSeconds(ollamaPid);
  const { value, window } = await measureWindow(
    exporter.process,
    () =>
      drive(exporter.origin, family, {
        streams,
        maxTokens,
        seconds: options.seconds,
        model: options.model,
      }),
  );
  const ollamaCpu = ollamaPid === null ? NaN : await treeCpuSeconds(ollamaPid) - ollamaBefore;
  const after = await scrapeGauges(exporter.origin);
  const tokens = after.tokens_generated - before.tokens_generated;
  const us = window.cpu_s * 1e6;
  const cell: RealCell = {
    family,
    streams,
    max_tokens: maxTokens,
    run,
    requests: value.requests,
    failed: value.failed,
    chunks: value.chunks,
    tokens,
    tokens_per_s: round(tokens / window.seconds, 1),
    chunks_per_s: round(value.chunks / window.seconds, 1),
    cpu_us_per_request: round(us / Math.max(1, value.requests + value.failed), 1),
    cpu_us_per_chunk: round(us / Math.max(1, value.chunks), 2),
    cpu_us_per_token: round(us / Math.max(1, tokens), 2),
    ollama_cores: round(ollamaCpu / window.seconds, 2),
    heap_used_mib: after.heap_used_mib,
    window,
    ...(value.firstError !== undefined ? { first_error: value.firstError } : {}),
  };
  options.log(
    `  real ${family.padEnd(8)} ${String(streams).padStart(3)} streams ×${maxTokens} tok: ` +
      `${cell.requests} req (${cell.failed} failed), ${cell.tokens_per_s} tok/s, ` +
      `${cell.cpu_us_per_token} µs/token, ${cell.cpu_us_per_request} µs/req, ` +
      `${window.cores} cores, RSS peak ${window.rss_peak_kib} KiB, Ollama ${cell.ollama_cores} ` +
      `cores, load ${window.load_start}→${window.load_end}`,
  );
  return cell;
}

/** The median cell of each (family, streams, max_tokens) over the runs. */
export function summarize(cells: readonly RealCell[]): RealCell[] {
  const groups = new Map<string, RealCell[]>();
  for (const cell of cells) {
    const key = `${cell.family}/${cell.streams}/${cell.max_tokens}`;
    groups.set(key, [...(groups.get(key) ?? []), cell]);
  }
  return [...groups.values()].map((group) => {
    if (group.length === 1) return group[0]!;
    const med = (pick: (cell: RealCell) => number) => median(group.map(pick));
    const first = group[0]!;
    return {
      ...first,
      run: -1,
      requests: med((c) => c.requests),
      failed: Math.max(...group.map((c) => c.failed)),
      chunks: med((c) => c.chunks),
      tokens: med((c) => c.tokens),
      tokens_per_s: med((c) => c.tokens_per_s),
      chunks_per_s: med((c) => c.chunks_per_s),
      cpu_us_per_request: med((c) => c.cpu_us_per_request),
      cpu_us_per_chunk: med((c) => c.cpu_us_per_chunk),
      cpu_us_per_token: med((c) => c.cpu_us_per_token),
      ollama_cores: med((c) => c.ollama_cores),
      heap_used_mib: med((c) => c.heap_used_mib),
      window: {
        ...first.window,
        cpu_s: med((c) => c.window.cpu_s),
        cores: med((c) => c.window.cores),
        seconds: med((c) => c.window.seconds),
        rss_peak_kib: Math.max(...group.map((c) => c.window.rss_peak_kib)),
        rss_mean_kib: med((c) => c.window.rss_mean_kib),
        load_start: med((c) => c.window.load_start),
        load_end: med((c) => c.window.load_end),
      },
    };
  });
}

/**
 * Splits CPU per request into a fixed part and a part per chunk from two cells of one family at
 * the same number of streams and different token limits (a line through the two points).
 */
export function fitCost(short: RealCell, long: RealCell): CostFit | undefined {
  const chunksShort = short.chunks / Math.max(1, short.requests + short.failed);
  const chunksLong = long.chunks / Math.max(1, long.requests + long.failed);
  if (!(chunksLong > chunksShort)) return undefined;
  const perChunk = (long.cpu_us_per_request - short.cpu_us_per_request) /
    (chunksLong - chunksShort);
  return {
    family: long.family,
    streams: long.streams,
    fixed_us_per_request: round(Math.max(0, short.cpu_us_per_request - perChunk * chunksShort), 1),
    us_per_chunk: round(perChunk, 2),
  };
}

/** Runs the phase: its own Ollama and exporter, stopped at the end. */
export async function runReal(options: RealOptions): Promise<RealResult> {
  const problems: string[] = [];
  const parallel = String(options.numParallel);
  const ollama = await startRealOllamaWith({ OLLAMA_NUM_PARALLEL: parallel });
  try {
    const version = await (await fetch(`${ollama.url}/api/version`)).json() as {
      version?: string;
    };
    const exporter = await startExporter(ollama.url, { env: { OLLAMA_NUM_PARALLEL: parallel } });
    try {
      const cold = exporter.process.memory().rss;
      for (const family of options.families) {
        const warm = await drive(exporter.origin, family, {
          streams: 1,
          maxTokens: 8,
          seconds: 0,
          model: options.model,
        });
        if (warm.failed > 0) {
          throw new Error(`The warm-up generation failed: ${warm.firstError}`);
        }
      }
      await delay(options.settleMs);
      const warmRss = exporter.process.memory().rss;
      options.log(
        `  real: Ollama ${version.version ?? "?"} (OLLAMA_NUM_PARALLEL=${parallel}), exporter ` +
          `RSS ${cold} KiB ready, ${warmRss} KiB warm`,
      );
      const plan: { family: FamilyName; streams: number; maxTokens: number }[] = [];
      for (const streams of options.levels) {
        for (const family of options.families) {
          plan.push({ family, streams, maxTokens: options.maxTokens });
        }
      }
      if (options.shortTokens > 0) {
        for (const family of options.families) {
          plan.push({ family, streams: options.shortStreams, maxTokens: options.shortTokens });
        }
      }
      const cells: RealCell[] = [];
      for (let run = 0; run < options.repeat; run++) {
        for (const step of plan) {
          const cell = await measureCell(
            exporter,
            ollama.pid,
            step.family,
            step.streams,
            step.maxTokens,
            run,
            options,
          );
          cells.push(cell);
          if (cell.failed > 0) {
            problems.push(
              `real ${step.family} ×${step.streams}: ${cell.failed} generations failed ` +
                `(${cell.first_error})`,
            );
          }
          if (!ollama.alive()) throw new Error("The real Ollama exited during the phase");
        }
      }
      const summary = summarize(cells);
      const fits: CostFit[] = [];
      if (options.shortTokens > 0) {
        for (const family of options.families) {
          const find = (tokens: number) =>
            summary.find((c) =>
              c.family === family && c.streams === options.shortStreams && c.max_tokens === tokens
            );
          const short = find(options.shortTokens);
          const long = find(options.maxTokens);
          const fit = short && long ? fitCost(short, long) : undefined;
          if (fit) fits.push(fit);
        }
      }
      let scrape: RealResult["scrape"];
      if (options.scrapes > 0) {
        let bytes = 0;
        const { window } = await measureWindow(exporter.process, async () => {
          for (let i = 0; i < options.scrapes; i++) {
            bytes = (await scrapeGauges(exporter.origin)).metrics_bytes;
          }
        });
        scrape = {
          scrapes: options.scrapes,
          cpu_ms_per_scrape: round(window.cpu_s * 1000 / options.scrapes, 2),
          ms_per_scrape: round(window.seconds * 1000 / options.scrapes, 2),
          bytes,
        };
      }
      await delay(options.settleMs);
      const memory = exporter.process.memory();
      return {
        ollama_version: version.version ?? "unknown",
        model: options.model,
        num_parallel: options.numParallel,
        cold_rss_kib: cold,
        warm_rss_kib: warmRss,
        cells,
        summary,
        fits,
        rss_after_kib: memory.rss,
        hwm_kib: memory.hwm,
        ...(scrape ? { scrape } : {}),
        problems,
      };
    } finally {
      await exporter.process.stop();
    }
  } finally {
    await ollama.close();
  }
}
