/**
 * A large `/api/embed` answer (60 MB by default, metrics last, written by the upstream in
 * 64 KiB pieces) through a fresh proxy (the exporter, and the other proxies as yardsticks): how
 * much its resident memory grows while it passes the body on, and how fast the body comes through
 * compared with straight from the upstream.
 *
 * @module
 */

import {
  type Endpoint,
  type ExporterVariants,
  isExporterName,
  type ProxyName,
  startProxy,
} from "./fleet.ts";
import { sumSamples } from "./metrics_text.ts";
import { delay } from "./processes.ts";
import { REQUEST_BODIES } from "./ollama_bodies.ts";
import { round } from "./stats.ts";

/** Settings of the large-body phase. */
export interface LargeBodyOptions {
  /** Proxies to measure, one fresh process each, one after the other. */
  readonly targets: readonly ProxyName[];
  readonly bytes: number;
  readonly upstream: Endpoint;
  readonly tempDir: string;
  readonly cpus?: string;
  /** What `exporter-otel` and `exporter-before` need to start. */
  readonly variants?: ExporterVariants;
  readonly log: (line: string) => void;
}

/** What the phase measured through one proxy. */
export interface LargeBodyResult {
  readonly target: ProxyName;
  readonly body_bytes: number;
  /** Whether the proxy passed on exactly the upstream's bytes. */
  readonly identical: boolean;
  readonly status: number;
  readonly direct_mb_per_s: number;
  readonly proxy_mb_per_s: number;
  readonly baseline_rss_kib: number;
  readonly peak_rss_kib: number;
  readonly rss_growth_kib: number;
  /** Growth as a fraction of the body size. */
  readonly growth_per_body_byte: number;
  /**
   * Exporter only: names of the metric families with an `/api/embed` series afterwards (what it
   * observed).
   */
  readonly embed_metric_names?: string[];
  /**
   * Exporter only: `ollama_tokens_processed_total` afterwards, 2 × 26 when the stats of both
   * embeddings (the warm-up and the large one) were read.
   */
  readonly tokens_processed?: number;
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

async function throughOne(
  target: ProxyName,
  proxy: Endpoint,
  direct: Download,
  options: LargeBodyOptions,
): Promise<LargeBodyResult> {
  const server = proxy.process;
  const children = { children: target === "nginx" };
  // Warm the path with a small body first.
  await download(proxy.origin, 64 * 1024);
  await delay(300);
  const baseline = server.memory(children).rss;
  let peak = baseline;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        peak = Math.max(peak, server.memory(children).rss);
      } catch {
        // ended; the download says why
      }
      await delay(20);
    }
  })();
  let through: Download;
  try {
    through = await download(proxy.origin, options.bytes);
  } finally {
    sampling = false;
    await sampler;
  }
  // VmHWM covers the whole life of the process; for nginx it would sum processes.
  if (target !== "nginx") peak = Math.max(peak, server.memory().hwm);
  let observed: { embed_metric_names: string[]; tokens_processed: number } | undefined;
  if (isExporterName(target)) {
    const metrics = await (await fetch(`${proxy.origin}/metrics`)).text();
    observed = {
      embed_metric_names: [
        ...new Set(
          metrics.split("\n").filter((line) =>
            !line.startsWith("#") && line.includes('"/api/embed"')
          ).map((line) => line.slice(0, line.search(/[{ ]/))),
        ),
      ],
      tokens_processed: sumSamples(metrics, "ollama_tokens_processed_total"),
    };
  }
  const mbPerS = (download: Download) => round(download.bytes / 1e6 / download.seconds, 1);
  const growth = peak - baseline;
  options.log(
    `  ${target.padEnd(15)} ${(options.bytes / 1e6).toFixed(0)} MB embed: RSS ${baseline} → ` +
      `${peak} KiB (+${growth} KiB), ${mbPerS(through)} MB/s (direct ${mbPerS(direct)} MB/s)`,
  );
  return {
    target,
    body_bytes: through.bytes,
    identical: through.status === direct.status && through.bytes === direct.bytes &&
      through.hash === direct.hash && through.tail === direct.tail,
    status: through.status,
    direct_mb_per_s: mbPerS(direct),
    proxy_mb_per_s: mbPerS(through),
    baseline_rss_kib: baseline,
    peak_rss_kib: peak,
    rss_growth_kib: growth,
    growth_per_body_byte: round(growth * 1024 / Math.max(1, through.bytes), 4),
    ...observed,
    metrics_at_end: through.tail.includes('"prompt_eval_count":'),
  };
}

/** Runs the phase through each target in turn; each proxy it starts is stopped after its turn. */
export async function runLargeBody(options: LargeBodyOptions): Promise<LargeBodyResult[]> {
  // Once to make the upstream build the body, once to time it.
  await download(options.upstream.origin, options.bytes);
  const direct = await download(options.upstream.origin, options.bytes);
  const results: LargeBodyResult[] = [];
  for (const target of options.targets) {
    const proxy = await startProxy(target, options.upstream, {
      tempDir: options.tempDir,
      ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
      ...(options.variants !== undefined ? { variants: options.variants } : {}),
    });
    try {
      results.push(await throughOne(target, proxy, direct, options));
    } finally {
      await proxy.process.stop();
    }
  }
  return results;
}
