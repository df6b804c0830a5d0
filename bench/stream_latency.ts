/**
 * How much later each streamed chunk reaches the client through a proxy than straight from the
 * upstream. The upstream paces an `/api/chat` stream (one chunk every `intervalMs`) and writes
 * into each chunk's `created_at` the wall-clock moment it wrote it; the client notes when each
 * line arrived. A chunk's delay is arrival minus `created_at` (both clocks are the machine's).
 * Each proxy is measured in a round of its own, its streams running at the same time as as many
 * direct streams (paired by index, started together), so that no other proxy competes for the CPU
 * in the same instant: the extra delay of chunk i of stream k is its delay through the proxy
 * minus the delay of chunk i of direct stream k. `direct`'s own row pools every round. Each round
 * is preceded by a short unmeasured one (4 streams, 10 chunks).
 *
 * @module
 */

import type { Fleet, TargetName } from "./fleet.ts";
import { parseGoTime, REQUEST_BODIES } from "./ollama_bodies.ts";
import { percentile, round } from "./stats.ts";
import { readStream } from "./stream_client.ts";

/** Per-chunk delays through one target. */
export interface StreamLatencyResult {
  readonly target: TargetName;
  readonly streams: number;
  /** Chunks measured (lines with a `created_at`). */
  readonly chunks: number;
  /** Streams that did not end with the final chunk. */
  readonly incomplete: number;
  /** Delay from the upstream writing a chunk to the client reading it. */
  readonly delay_p50_ms: number;
  readonly delay_p99_ms: number;
  readonly delay_max_ms: number;
  /** Delay minus the paired direct delay (absent for `direct` itself). */
  readonly extra_p50_ms?: number;
  readonly extra_p99_ms?: number;
}

/** Settings of the stream latency phase. */
export interface StreamLatencyOptions {
  readonly streams: number;
  readonly intervalMs: number;
  readonly chunks: number;
}

/** Runs the phase over every target of `fleet`, one proxy per round. */
export async function runStreamLatency(
  fleet: Fleet,
  options: StreamLatencyOptions,
): Promise<StreamLatencyResult[]> {
  const direct = fleet.targets.find((target) => target.name === "direct");
  const proxies = fleet.targets.filter((target) => target.name !== "direct");
  const rounds = direct ? proxies.map((proxy) => [direct, proxy]) : proxies.map((p) => [p]);
  const directStreams: number[][] = [];
  let directIncomplete = 0;
  const results: StreamLatencyResult[] = [];
  for (const round of rounds.length > 0 ? rounds : direct ? [[direct]] : []) {
    // An unmeasured warm-up round first: the phase before (wrk at full load) leaves connections
    // closing and collections due, and the first chunks measured would time that instead.
    await measureRound(round, {
      ...options,
      streams: Math.min(4, options.streams),
      chunks: Math.min(10, options.chunks),
    });
    const measured = await measureRound(round, options);
    const base = measured.get("direct");
    if (base) {
      directStreams.push(...base.streams);
      directIncomplete += base.incomplete;
    }
    for (const [name, { streams, incomplete }] of measured) {
      if (name !== "direct") results.push(summarize(name, streams, incomplete, base?.streams));
    }
  }
  if (direct) results.unshift(summarize("direct", directStreams, directIncomplete, undefined));
  return results;
}

function summarize(
  target: TargetName,
  perStream: number[][],
  incomplete: number,
  direct: number[][] | undefined,
): StreamLatencyResult {
  const all = perStream.flat();
  const extra: number[] = [];
  if (direct) {
    perStream.forEach((stream, k) => {
      stream.forEach((delay, i) => {
        const base = direct[k]?.[i];
        if (base !== undefined) extra.push(delay - base);
      });
    });
  }
  return {
    target,
    streams: perStream.length,
    chunks: all.length,
    incomplete,
    delay_p50_ms: round(percentile(all, 50), 3),
    delay_p99_ms: round(percentile(all, 99), 3),
    delay_max_ms: round(Math.max(...all), 3),
    ...(direct
      ? {
        extra_p50_ms: round(percentile(extra, 50), 3),
        extra_p99_ms: round(percentile(extra, 99), 3),
      }
      : {}),
  };
}

/** Streams through `targets` at the same time; per target, delays per stream and chunk. */
async function measureRound(
  targets: readonly { name: TargetName; origin: string }[],
  options: StreamLatencyOptions,
): Promise<Map<TargetName, { streams: number[][]; incomplete: number }>> {
  const timeoutMs = (options.chunks + 2) * options.intervalMs + 30_000;
  const measured = new Map<TargetName, { streams: number[][]; incomplete: number }>();
  const jobs: Promise<void>[] = [];
  for (const target of targets) {
    const entry = { streams: [] as number[][], incomplete: 0 };
    measured.set(target.name, entry);
    const perStream = entry.streams;
    for (let k = 0; k < options.streams; k++) {
      const stream: number[] = [];
      perStream.push(stream);
      // Streams start spread over one interval (stream k of every target at the same moment), so
      // that the upstream's timers do not all fire at once.
      const offsetMs = (k * options.intervalMs) / options.streams;
      jobs.push((async () => {
        await new Promise((resolve) => setTimeout(resolve, offsetMs));
        let complete = false;
        try {
          const outcome = await readStream({
            url: `${target.origin}/api/chat`,
            body: REQUEST_BODIES.chat,
            headers: {
              "x-bench-interval-ms": String(options.intervalMs),
              "x-bench-chunks": String(options.chunks),
            },
            timeoutMs,
            onLine: (line, arrived) => {
              const createdAt = /"created_at":"([^"]+)"/.exec(line)?.[1];
              const sent = createdAt === undefined ? NaN : parseGoTime(createdAt);
              if (Number.isFinite(sent)) stream.push(arrived - sent);
            },
          });
          complete = outcome.sawEnd && outcome.status === 200;
        } catch {
          // counted below
        }
        if (!complete) entry.incomplete++;
      })());
    }
  }
  await Promise.all(jobs);
  return measured;
}
