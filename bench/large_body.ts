/**
 * A large `/api/embed` answer (60 MB by default, metrics last, written by the upstream in
 * 64 KiB pieces) through a fresh exporter: how much its resident memory grows while it passes
 * the body on, and how fast the body comes through compared with straight from the upstream.
 *
 * @module
 */

import { startExporter } from "./fleet.ts";
import { sumSamples } from "./metrics_text.ts";
import { delay } from "./processes.ts";
import { REQUEST_BODIES } from "./ollama_bodies.ts";
import { round } from "./stats.ts";

/** Settings of the large-body phase. */
export interface LargeBodyOptions {
  readonly bytes: number;
  readonly upstream: string;
  readonly cpus?: string;
  readonly log: (line: string) => void;
}

/** What the phase measured. */
export interface LargeBodyResult {
  readonly body_bytes: number;
  /** Whether the exporter passed on exactly the upstream's bytes. */
  readonly identical: boolean;
  readonly status: number;
  readonly direct_mb_per_s: number;
  readonly exporter_mb_per_s: number;
  readonly baseline_rss_kib: number;
  readonly peak_rss_kib: number;
  readonly rss_growth_kib: number;
  /** Growth as a fraction of the body size. */
  readonly growth_per_body_byte: number;
  /** Names of the metric families with an `/api/embed` series afterwards (what it observed). */
  readonly embed_metric_names: string[];
  /** `ollama_tokens_processed_total` afterwards: 2 × 26 when both embeddings' stats were read. */
  readonly tokens_processed: number;
  /** Whether the final chunk's tail reached the client (`prompt_eval_count` in the last bytes). */
  readonly metrics_at_end: boolean;
}

const decoder = new TextDecoder();
const TAIL_BYTES = 200;

interface Download {
  status: number;
  bytes: number;
  seconds: number;
  hash: number;
  tail: string;
}

/** Reads a whole answer, keeping only a running hash and the last bytes. */
async function download(origin: string, bytes: number): Promise<Download> {
  const start = performance.now();
  const response = await fetch(`${origin}/api/embed`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-bench-embed-bytes": String(bytes) },
    body: REQUEST_BODIES.embed,
    signal: AbortSignal.timeout(120_000),
  });
  let total = 0;
  let hash = 2166136261;
  const tail = new Uint8Array(TAIL_BYTES);
  let tailLength = 0;
  for await (const chunk of response.body ?? new ReadableStream<Uint8Array>()) {
    // Every 97th byte of the whole body, wherever the chunks split it.
    for (let i = (97 - total % 97) % 97; i < chunk.length; i += 97) {
      hash = Math.imul(hash ^ chunk[i]!, 16777619);
    }
    total += chunk.length;
    if (chunk.length >= TAIL_BYTES) {
      tail.set(chunk.subarray(chunk.length - TAIL_BYTES));
      tailLength = TAIL_BYTES;
    } else {
      const keep = Math.min(tailLength, TAIL_BYTES - chunk.length);
      tail.copyWithin(0, tailLength - keep, tailLength);
      tail.set(chunk, keep);
      tailLength = keep + chunk.length;
    }
  }
  return {
    status: response.status,
    bytes: total,
    seconds: (performance.now() - start) / 1000,
    hash: hash >>> 0,
    tail: decoder.decode(tail.subarray(0, tailLength)),
  };
}

/** Runs the phase; the exporter it starts is stopped before it returns. */
export async function runLargeBody(options: LargeBodyOptions): Promise<LargeBodyResult> {
  // Once to make the upstream build the body, once to time it.
  await download(options.upstream, options.bytes);
  const direct = await download(options.upstream, options.bytes);
  const exporter = await startExporter(options.upstream, {
    ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
  });
  try {
    const server = exporter.process;
    // Warm the pass-through path with a small body first.
    await download(exporter.origin, 64 * 1024);
    await delay(300);
    const baseline = server.memory().rss;
    let peak = baseline;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          peak = Math.max(peak, server.memory().rss);
        } catch {
          // ended; the download says why
        }
        await delay(20);
      }
    })();
    let through: Download;
    try {
      through = await download(exporter.origin, options.bytes);
    } finally {
      sampling = false;
      await sampler;
    }
    peak = Math.max(peak, server.memory().hwm);
    const metrics = await (await fetch(`${exporter.origin}/metrics`)).text();
    const embedNames = [
      ...new Set(
        metrics.split("\n").filter((line) => !line.startsWith("#") && line.includes('"/api/embed"'))
          .map((line) => line.slice(0, line.search(/[{ ]/))),
      ),
    ];
    const mbPerS = (download: Download) => round(download.bytes / 1e6 / download.seconds, 1);
    const growth = peak - baseline;
    options.log(
      `  ${(options.bytes / 1e6).toFixed(0)} MB embed: exporter RSS ${baseline} → ${peak} KiB ` +
        `(+${growth} KiB), ${mbPerS(through)} MB/s (direct ${mbPerS(direct)} MB/s)`,
    );
    return {
      body_bytes: through.bytes,
      identical: through.status === direct.status && through.bytes === direct.bytes &&
        through.hash === direct.hash && through.tail === direct.tail,
      status: through.status,
      direct_mb_per_s: mbPerS(direct),
      exporter_mb_per_s: mbPerS(through),
      baseline_rss_kib: baseline,
      peak_rss_kib: peak,
      rss_growth_kib: growth,
      growth_per_body_byte: round(growth * 1024 / Math.max(1, through.bytes), 4),
      embed_metric_names: embedNames,
      tokens_processed: sumSamples(metrics, "ollama_tokens_processed_total"),
      metrics_at_end: through.tail.includes('"prompt_eval_count":'),
    };
  } finally {
    await exporter.process.stop();
  }
}
