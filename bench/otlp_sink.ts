/**
 * A small OTLP/HTTP sink for the benchmark's `exporter-otel` target: it accepts `POST /v1/traces`,
 * `/v1/metrics` and `/v1/logs`, reads every body to its end, counts requests and bytes per path,
 * and answers 200 with an empty `application/x-protobuf` body (an OTLP "all accepted"). It decodes
 * nothing, so that it costs the exporter under test only the export itself. `GET /counts` answers
 * the counts as JSON; {@linkcode OtlpSink} starts it as a process of its own and reads them.
 *
 * Run: `deno run --allow-net bench/otlp_sink.ts --port 4318` (`--watch-stdin` exits when standard
 * input closes).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startBenchServer } from "./fleet.ts";
import type { ServerProcess } from "./processes.ts";
import { serveFromCli } from "./serve_cli.ts";

/** The OTLP signals, by the last part of their path (`/v1/traces`, ...). */
export const OTLP_SIGNALS = ["traces", "metrics", "logs"] as const;

/** One OTLP signal. */
export type OtlpSignal = typeof OTLP_SIGNALS[number];

/** Requests and body bytes received on one path. */
export interface PathCount {
  readonly requests: number;
  readonly bytes: number;
}

/** Everything the sink received: per signal, and `other` for any other request. */
export type SinkCounts = Readonly<Record<OtlpSignal | "other", PathCount>>;

const EMPTY: PathCount = { requests: 0, bytes: 0 };

/** Counts that start at zero. */
export function emptyCounts(): SinkCounts {
  return { traces: EMPTY, metrics: EMPTY, logs: EMPTY, other: EMPTY };
}

/** `after` minus `before`, per path (what arrived between two readings). */
export function countsBetween(before: SinkCounts, after: SinkCounts): SinkCounts {
  const minus = (key: keyof SinkCounts): PathCount => ({
    requests: after[key].requests - before[key].requests,
    bytes: after[key].bytes - before[key].bytes,
  });
  return {
    traces: minus("traces"),
    metrics: minus("metrics"),
    logs: minus("logs"),
    other: minus("other"),
  };
}

function signalOf(method: string, pathname: string): OtlpSignal | undefined {
  if (method !== "POST") return undefined;
  return OTLP_SIGNALS.find((signal) => pathname === `/v1/${signal}`);
}

/** The sink's request handler; `counts()` reads what it has received so far. */
export function sinkHandler(): {
  handler: (request: Request) => Promise<Response>;
  counts: () => SinkCounts;
} {
  const counts: Record<keyof SinkCounts, { requests: number; bytes: number }> = {
    traces: { ...EMPTY },
    metrics: { ...EMPTY },
    logs: { ...EMPTY },
    other: { ...EMPTY },
  };
  const snapshot = (): SinkCounts => structuredClone(counts);
  const handler = async (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/counts") {
      return Response.json(snapshot());
    }
    const signal = signalOf(request.method, pathname);
    const count = counts[signal ?? "other"];
    count.requests++;
    let bytes = 0;
    if (request.body) {
      for await (const chunk of request.body) bytes += chunk.byteLength;
    }
    count.bytes += bytes;
    if (signal === undefined) return new Response("not an OTLP path\n", { status: 404 });
    return new Response(null, {
      status: 200,
      headers: { "content-type": "application/x-protobuf" },
    });
  };
  return { handler, counts: snapshot };
}

/** The sink running as a process of its own on 127.0.0.1. */
export class OtlpSink {
  /** The base URL to give as `OTEL_EXPORTER_OTLP_ENDPOINT` (no trailing slash). */
  readonly endpoint: string;
  #process: ServerProcess;

  private constructor(endpoint: string, process: ServerProcess) {
    this.endpoint = endpoint;
    this.#process = process;
  }

  /** Starts the sink on a free port (optionally pinned to `cpus`) and waits until it listens. */
  static async start(options: { cpus?: string } = {}): Promise<OtlpSink> {
    const { origin, process } = await startBenchServer("otlp-sink", "otlp_sink.ts", {
      args: [],
      ...options,
    });
    return new OtlpSink(origin, process);
  }

  /** What the sink has received so far (from `GET /counts`). */
  async counts(): Promise<SinkCounts> {
    const response = await fetch(`${this.endpoint}/counts`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`The OTLP sink answered ${response.status} to GET /counts`);
    }
    return await response.json() as SinkCounts;
  }

  /** Stops the sink process. */
  stop(): Promise<void> {
    return this.#process.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "4318" },
      hostname: { type: "string", default: "127.0.0.1" },
      "watch-stdin": { type: "boolean", default: false },
    },
  });
  const sink = sinkHandler();
  const printCounts = () => console.error(`otlp_sink: ${JSON.stringify(sink.counts())}`);
  globalThis.addEventListener("unload", printCounts);
  serveFromCli("otlp_sink", sink.handler, {
    port: values.port,
    hostname: values.hostname,
    watchStdin: values["watch-stdin"],
  });
}
