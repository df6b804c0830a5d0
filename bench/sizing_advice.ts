/**
 * From the sizing benchmark's numbers to Kubernetes resource requests and limits for the exporter
 * as a sidecar, with the arithmetic spelled out, so that the advice can be checked and redone for
 * other assumptions (token rate, how many streams may be open at once).
 *
 * @module
 */

import { round } from "./stats.ts";

const KIB_PER_MIB = 1024;

/** The measured numbers the advice starts from. */
export interface SizingInputs {
  /** VmRSS of a warmed-up idle exporter (the largest measured). */
  readonly warm_idle_rss_kib: number;
  /** Highest VmRSS beside the busy real Ollama. */
  readonly busy_peak_rss_kib: number;
  /** Memory per open stream (the largest slope measured). */
  readonly kib_per_stream: number;
  /** The most streams held at once, and the peak VmRSS then. */
  readonly held_streams: number;
  readonly held_peak_rss_kib: number;
  /** Highest VmRSS at full request rate. */
  readonly rate_peak_rss_kib: number;
  /** Concurrent streams of the busiest real cells, and CPU µs per chunk there (largest family). */
  readonly busy_streams: number;
  readonly cpu_us_per_chunk: number;
  /** The same at the fewest streams, where chunks arrive one at a time. */
  readonly light_streams: number;
  readonly cpu_us_per_chunk_light: number;
  /** CPU µs per request apart from its chunks (the largest family measured). */
  readonly cpu_us_per_request: number;
  /** Cores the exporter used at full request rate (the largest workload). */
  readonly rate_max_cores: number;
  /** Requests per second at that rate. */
  readonly rate_max_rps: number;
  readonly idle_millicores: number;
}

/** The assumptions the advice is computed for. */
export interface AdviceAssumptions {
  /** Generated tokens per second through the exporter the CPU request is sized for. */
  readonly design_tokens_per_s: number;
  /** Tokens per generation (sets the request rate at a token rate). */
  readonly tokens_per_request: number;
  /** Streams that may be open at once, which the memory limit must hold. */
  readonly stream_budget: number;
  /** Memory on top of idle + streams for bursts and large bodies, MiB. */
  readonly burst_mib: number;
  /** Factor on the memory limit for what was not measured (fragmentation, GC timing). */
  readonly headroom: number;
  /** Token rates for the CPU table. */
  readonly token_rates: readonly number[];
  /** Stream counts for the memory table. */
  readonly stream_counts: readonly number[];
}

/** Defaults: 1,000 tokens/s, 256-token answers, 600 open streams (Ollama's queue of 512 + slots). */
export const DEFAULT_ASSUMPTIONS: AdviceAssumptions = {
  design_tokens_per_s: 1000,
  tokens_per_request: 256,
  stream_budget: 600,
  burst_mib: 32,
  headroom: 1.25,
  token_rates: [100, 1000, 5000],
  stream_counts: [100, 600, 2000],
};

/** The recommendation. */
export interface Advice {
  readonly memory_request_mib: number;
  readonly memory_limit_mib: number;
  readonly cpu_request_millicores: number;
  /** `null`: no CPU limit recommended. */
  readonly cpu_limit_millicores: number | null;
  /** The smallest CPU limit that does not throttle the measured full-rate burst, if one is required. */
  readonly cpu_limit_if_required_millicores: number;
  /** CPU the exporter needs at each token rate (with `tokens_per_request`-token answers). */
  readonly cpu_at_token_rates: {
    tokens_per_s: number;
    requests_per_s: number;
    millicores: number;
  }[];
  /** Memory the exporter needs with N streams open (before headroom). */
  readonly memory_at_streams: { streams: number; mib: number }[];
  readonly assumptions: AdviceAssumptions;
  /** The reasoning, one sentence per line, with the numbers filled in. */
  readonly reasoning: string[];
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}

/** Millicores the exporter spends at `tokensPerS` with `tokensPerRequest`-token answers. */
export function millicoresAt(
  inputs: SizingInputs,
  tokensPerS: number,
  tokensPerRequest: number,
): number {
  const requestsPerS = tokensPerS / tokensPerRequest;
  const us = tokensPerS * inputs.cpu_us_per_chunk + requestsPerS * inputs.cpu_us_per_request;
  return us / 1000 + inputs.idle_millicores;
}

/** MiB the exporter needs with `streams` streams open (idle + streams, no headroom). */
export function mibWithStreams(inputs: SizingInputs, streams: number): number {
  return (inputs.warm_idle_rss_kib + streams * inputs.kib_per_stream) / KIB_PER_MIB;
}

/** Derives requests and limits from `inputs` under `assumptions`. */
export function advise(
  inputs: SizingInputs,
  assumptions: AdviceAssumptions = DEFAULT_ASSUMPTIONS,
): Advice {
  const mib = (kib: number) => kib / KIB_PER_MIB;
  const idle = mib(inputs.warm_idle_rss_kib);
  const busy = mib(Math.max(inputs.busy_peak_rss_kib, inputs.warm_idle_rss_kib));
  const memoryRequest = roundUp(busy * 1.2, 16);
  const streams = assumptions.stream_budget * inputs.kib_per_stream / KIB_PER_MIB;
  const burst = Math.max(assumptions.burst_mib, mib(inputs.rate_peak_rss_kib) - idle);
  const limitRaw = (idle + streams + burst) * assumptions.headroom;
  const memoryLimit = Math.max(roundUp(limitRaw, 32), roundUp(memoryRequest * 1.5, 32));
  const design = millicoresAt(
    inputs,
    assumptions.design_tokens_per_s,
    assumptions.tokens_per_request,
  );
  const cpuRequest = Math.max(50, roundUp(design * 1.5, 50));
  const burstLimit = Math.max(1000, roundUp(inputs.rate_max_cores * 1000, 250));
  const cpuTable = assumptions.token_rates.map((tokens) => ({
    tokens_per_s: tokens,
    requests_per_s: round(tokens / assumptions.tokens_per_request, 1),
    millicores: round(millicoresAt(inputs, tokens, assumptions.tokens_per_request), 1),
  }));
  const memoryTable = assumptions.stream_counts.map((count) => ({
    streams: count,
    mib: round(mibWithStreams(inputs, count), 1),
  }));
  const f = (value: number, digits = 1) => String(round(value, digits));
  const reasoning = [
    `Idle, warmed up, the exporter holds ${f(idle)} MiB resident; beside the busy Ollama its ` +
    `peak was ${f(busy)} MiB. Memory request = that peak × 1.2, rounded up to 16 MiB: ` +
    `${memoryRequest} MiB (what it really uses while busy, so the scheduler reserves it).`,
    `Each open stream costs about ${f(inputs.kib_per_stream)} KiB (the slope of RSS over ` +
    `${inputs.held_streams} held streams; ${f(mib(inputs.held_peak_rss_kib))} MiB peak with all ` +
    `${inputs.held_streams} open). Ollama answers at most OLLAMA_NUM_PARALLEL × loaded models ` +
    `requests and queues OLLAMA_MAX_QUEUE (512) more, refusing the rest with 503, so about ` +
    `${assumptions.stream_budget} open streams is the most a single Ollama lets through.`,
    `Memory limit = (idle ${f(idle)} + ${assumptions.stream_budget} streams × ` +
    `${f(inputs.kib_per_stream)} KiB = ${f(streams)} + bursts ${f(burst)}) MiB × ` +
    `${assumptions.headroom}, rounded up to 32 MiB: ${memoryLimit} MiB. For another stream ` +
    `budget S: limit ≈ (${f(idle + burst)} + S × ${f(inputs.kib_per_stream / 1024, 3)}) × ` +
    `${assumptions.headroom} MiB.`,
    `CPU: with ${inputs.busy_streams} streams beside the busy Ollama, ` +
    `${f(inputs.cpu_us_per_chunk, 1)} µs per streamed chunk (the requests' own costs spread ` +
    `over their chunks), plus ${f(inputs.cpu_us_per_request)} µs per request counted again to be ` +
    `safe (with ${inputs.light_streams} stream(s), chunks arriving one at a time cost up to ` +
    `${f(inputs.cpu_us_per_chunk_light, 1)} µs, but then the rates are low). Ollama writes one ` +
    `chunk per token (fewer when a token is a partial UTF-8 character), so at ` +
    `${assumptions.design_tokens_per_s} tokens/s in ${assumptions.tokens_per_request}-token ` +
    `answers the exporter needs ${f(design)} millicores. CPU request = that × 1.5 for the ` +
    `noise between runs, rounded up to 50 (at least 50): ${cpuRequest}m.`,
    `No CPU limit: the exporter's work comes in bursts (a burst of requests, a scrape, a GC), ` +
    `and under a CFS quota a burst that uses up the quota stops every thread until the next ` +
    `100 ms period, delaying every stream's next chunk by up to that much and distorting the ` +
    `time-to-first-token and inter-token latencies the exporter itself measures. Its steady use ` +
    `is small and the request already guarantees its share. Where a policy demands a limit, ` +
    `use at least ${burstLimit}m: at full speed (${f(inputs.rate_max_rps, 0)} requests/s from ` +
    `one client) it used ${f(inputs.rate_max_cores, 2)} cores.`,
  ];
  return {
    memory_request_mib: memoryRequest,
    memory_limit_mib: memoryLimit,
    cpu_request_millicores: cpuRequest,
    cpu_limit_millicores: null,
    cpu_limit_if_required_millicores: burstLimit,
    cpu_at_token_rates: cpuTable,
    memory_at_streams: memoryTable,
    assumptions,
    reasoning,
  };
}
