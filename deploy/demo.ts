/**
 * A self-contained demo of ollama-exporter: no Ollama, no GPU. It starts the project's Ollama
 * simulator (realistic delays, a few models) on a free port of 127.0.0.1, the real exporter in
 * front of it, and a little traffic from three named clients (`X-Client-Name`): native and
 * OpenAI-compatible calls, streaming and not, embeddings, now and then a model that does not
 * exist (404) and a stream that breaks half-way. It prints where `/metrics` is, a few `curl`
 * commands to try, and a one-line summary every few seconds.
 *
 * ```sh
 * deno task demo                       # until Ctrl-C, exporter on :8000
 * deno task demo --port 9000 --duration 60 --quiet
 * ```
 *
 * Environment: `PORT` (default 8000; `--port` wins), `LISTEN_HOST` (default 127.0.0.1),
 * `LOG_LEVEL` of the exporter (default WARN, so that its per-request lines do not drown the
 * summary). SIGINT/SIGTERM stop the traffic, let requests under way finish, shut both servers
 * down and exit 0; a second signal exits at once with 130.
 *
 * @module
 */

import { seededRandom } from "../tests/support/simulator/seeded_random.ts";
import { parseArgs } from "node:util";
import { loadConfig } from "../lib/config.ts";
import { Exporter } from "../lib/exporter.ts";
import { listenFailure } from "../lib/listen_failure.ts";
import { Logger, parseLevelName } from "../lib/log.ts";
import { DEFAULT_MODELS, OllamaSimulator } from "../tests/support/ollama_simulator.ts";

/** The demo's settings. */
export interface DemoOptions {
  /** Port of the exporter (0 picks a free one). */
  readonly port: number;
  /** Address the exporter listens on. */
  readonly listenHost: string;
  /** Seconds of traffic before stopping by itself; `undefined` runs until a signal. */
  readonly durationSeconds: number | undefined;
  /** No banner and no summaries on stdout. */
  readonly quiet: boolean;
  /** Log level of the exporter's own lines (stderr). */
  readonly logLevel: string;
  /** Seconds between summary lines (default 3). */
  readonly summaryEverySeconds?: number;
}

/** The `X-Client-Name` values the traffic uses. */
export const DEMO_CLIENTS: readonly string[] = ["chat-ui", "batch-summarizer", "ide-plugin"];

/** Models the simulator has besides its defaults. */
export const EXTRA_MODELS: readonly string[] = ["mistral:7b", "phi3:mini", "qwen2.5-coder:1.5b"];

const CLIENT_HEADER = "X-Client-Name";
const USAGE = `Usage: deno task demo [--port N] [--duration SECONDS] [--quiet]

  --port N              port of the exporter (default: PORT, else 8000)
  --duration SECONDS    stop after this long (default: run until Ctrl-C)
  --quiet               no banner, no summary lines
`;

/**
 * Reads the flags and the environment. Throws an `Error` naming the flag or variable and the
 * value that cannot be used.
 */
export function parseDemoArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DemoOptions | "help" {
  let values;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        port: { type: "string" },
        duration: { type: "string" },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new Error(`Cannot parse the command line: ${(error as Error).message}`);
  }
  if (values.help) return "help";
  const portText = values.port ?? env.PORT ?? "8000";
  const portSource = values.port !== undefined ? "--port" : env.PORT !== undefined ? "PORT" : "";
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw new Error(
      `Cannot parse ${portSource || "the port"} "${portText}": ` +
        "expected a whole number from 0 to 65535",
    );
  }
  let durationSeconds: number | undefined;
  if (values.duration !== undefined) {
    durationSeconds = Number(values.duration);
    if (
      values.duration.trim() === "" || !Number.isFinite(durationSeconds) || durationSeconds <= 0
    ) {
      throw new Error(
        `Cannot parse --duration "${values.duration}": expected a number of seconds above 0`,
      );
    }
  }
  const logLevel = env.LOG_LEVEL ?? "WARN";
  if (parseLevelName(logLevel) === null) {
    throw new Error(`Cannot parse LOG_LEVEL "${logLevel}": expected DEBUG, INFO, WARNING or ERROR`);
  }
  return {
    port: Number(portText),
    listenHost: env.LISTEN_HOST ?? "127.0.0.1",
    durationSeconds,
    quiet: values.quiet,
    logLevel,
  };
}

/** One request of the traffic. */
interface DemoRequest {
  readonly path: string;
  readonly body: Record<string, unknown>;
  /** Make the simulator break this stream after a few chunks. */
  readonly failMidStream?: boolean;
}

type Pick = <T>(items: readonly T[]) => T;

const QUESTIONS = [
  "Why is the sky blue?",
  "Summarise the meeting notes in three bullet points",
  "Translate 'good morning' into French",
  "What is a llama?",
  "Explain Prometheus histograms to a new engineer",
];

/** What each named client sends; the first request of each uses a different model. */
const SCRIPTS: Record<string, (pick: Pick, random: () => number, first: boolean) => DemoRequest> = {
  "chat-ui": (pick, random, first) => {
    const messages = [{ role: "user", content: pick(QUESTIONS) }];
    const tokens = 10 + Math.floor(random() * 30);
    const roll = first ? 0 : random();
    if (roll < 0.65) {
      return {
        path: "/api/chat",
        body: { model: "llama3.2", messages, options: { num_predict: tokens } },
      };
    }
    if (roll < 0.85) {
      return {
        path: "/v1/chat/completions",
        body: { model: "llama3.2", messages, stream: true, max_tokens: tokens },
      };
    }
    return { path: "/api/chat", body: { model: "mistral:7b", messages, stream: false } };
  },
  "batch-summarizer": (pick, random, first) => {
    const roll = first ? 0 : random();
    const model = pick(["qwen2.5:0.5b", "phi3:mini"]);
    if (roll < 0.5) {
      return {
        path: "/v1/chat/completions",
        body: {
          model: first ? "qwen2.5:0.5b" : model,
          messages: [{ role: "system", content: "Be concise." }, {
            role: "user",
            content: pick(QUESTIONS),
          }],
          max_tokens: 20 + Math.floor(random() * 40),
        },
      };
    }
    if (roll < 0.75) {
      return { path: "/api/generate", body: { model, prompt: pick(QUESTIONS), stream: false } };
    }
    if (roll < 0.93) {
      return {
        path: "/v1/embeddings",
        body: { model: "nomic-embed-text", input: [pick(QUESTIONS), pick(QUESTIONS)] },
      };
    }
    // A misconfigured job asking for a model this Ollama does not have: 404.
    return {
      path: "/v1/chat/completions",
      body: { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] },
    };
  },
  "ide-plugin": (pick, random, first) => {
    const roll = first ? 0 : random();
    const prompt = pick(["def fibonacci(n):", "// parse a CSV line", "SELECT name FROM"]);
    const tokens = 5 + Math.floor(random() * 20);
    if (roll < 0.6) {
      return {
        path: "/api/generate",
        body: { model: "qwen2.5-coder:1.5b", prompt, options: { num_predict: tokens } },
      };
    }
    if (roll < 0.85) {
      return {
        path: "/v1/completions",
        body: { model: "qwen2.5-coder:1.5b", prompt, stream: true, max_tokens: tokens },
      };
    }
    if (roll < 0.93) {
      // The model crashes half-way through the answer: status 200, then an error line.
      return {
        path: "/api/generate",
        body: { model: "qwen2.5-coder:1.5b", prompt, options: { num_predict: 30 } },
        failMidStream: true,
      };
    }
    return { path: "/api/generate", body: { model: "codellama:70b", prompt, stream: false } };
  },
};

/** The numbers the summary line shows, read from the exporter's registry. */
export interface DemoTotals {
  readonly requests: number;
  readonly notFound: number;
  readonly errors: number;
  readonly promptTokens: number;
  readonly outputTokens: number;
  readonly inFlight: number;
  readonly clients: readonly string[];
}

/** Sums the exporter's request and token counters. */
export function readTotals(exporter: Exporter): DemoTotals {
  const m = exporter.metrics;
  const sum = (family: { snapshot(): { series: readonly { value: number }[] } }) =>
    family.snapshot().series.reduce((total, series) => total + series.value, 0);
  const requests = m.requests.snapshot();
  const codeAt = requests.labelNames.indexOf("code");
  const clientAt = requests.labelNames.indexOf("client");
  const clients = new Set<string>();
  let notFound = 0;
  for (const series of requests.series) {
    if (series.labelValues[codeAt] === "404") notFound += series.value;
    const client = clientAt < 0 ? "" : series.labelValues[clientAt] ?? "";
    if (client !== "") clients.add(client);
  }
  return {
    requests: sum(m.requests),
    notFound,
    errors: sum(m.requestErrors),
    promptTokens: sum(m.tokensProcessed),
    outputTokens: sum(m.tokensGenerated),
    inFlight: sum(m.inFlight),
    clients: [...clients].sort(),
  };
}

function summaryLine(totals: DemoTotals, elapsedSeconds: number): string {
  const n = (value: number) => value.toLocaleString("en-US");
  return `[${elapsedSeconds.toFixed(0).padStart(4)}s] requests ${n(totals.requests)} ` +
    `(404 ${n(totals.notFound)}, errors ${n(totals.errors)}) | tokens in ${
      n(totals.promptTokens)
    } ` +
    `out ${n(totals.outputTokens)} | in flight ${n(totals.inFlight)}`;
}

/** The host part of a URL that reaches a server listening on `hostname` from this machine. */
function displayHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/**
 * Sends `request` with the simulator set to fail generations mid-stream, and sets it back as
 * soon as the simulator has taken the request in (it keeps the options a request arrived with).
 * A request of another client arriving in those few milliseconds fails as well; for a demo that
 * is fine.
 */
async function withMidStreamFailure(
  simulator: OllamaSimulator,
  send: () => Promise<void>,
): Promise<void> {
  const before = simulator.requestCount;
  simulator.configure({ failMidStream: { afterChunks: 4 } });
  let settled = false;
  const sending = send().finally(() => settled = true);
  try {
    while (simulator.requestCount === before && !settled) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    simulator.configure({ failMidStream: false });
  }
  await sending;
}

/** One client's loop: a request, a pause, until `stop` aborts; the request under way finishes. */
async function runClient(
  name: string,
  index: number,
  context: { base: string; simulator: OllamaSimulator; stop: AbortSignal },
): Promise<void> {
  const script = SCRIPTS[name];
  if (script === undefined) throw new Error(`Cannot run client "${name}": it has no script`);
  const random = seededRandom(7919 * (index + 1));
  const pick: Pick = (items) => items[Math.floor(random() * items.length)]!;
  // Start a little apart, as real clients do.
  await sleep(index * 120, context.stop);
  for (let first = true; !context.stop.aborted; first = false) {
    const request = script(pick, random, first);
    const send = async () => {
      try {
        const response = await fetch(context.base + request.path, {
          method: "POST",
          headers: { "content-type": "application/json", [CLIENT_HEADER]: name },
          body: JSON.stringify(request.body),
        });
        await response.arrayBuffer();
      } catch {
        // The exporter is going away; the loop ends on the next check of `stop`.
      }
    };
    if (request.failMidStream) await withMidStreamFailure(context.simulator, send);
    else await send();
    await sleep(150 + random() * 600, context.stop);
  }
}

/** The exporter's port or address cannot be used; its message names them and says why. */
class ListenError extends Error {}

/** A running demo. */
export interface RunningDemo {
  /** The exporter's base URL. */
  readonly url: string;
  /** The simulator's base URL. */
  readonly ollamaUrl: string;
  /** The exporter, for reading its registry. */
  readonly exporter: Exporter;
  /** Resolves when the demo has stopped and everything is shut down. */
  readonly finished: Promise<void>;
}

/**
 * Starts the simulator, the exporter and the traffic. Everything stops when `stop` aborts or
 * `durationSeconds` have passed: the traffic first (requests under way finish), then the
 * exporter and the simulator; `finished` resolves after that.
 */
export async function startDemo(options: DemoOptions, stop: AbortSignal): Promise<RunningDemo> {
  const out = (line: string) => {
    if (!options.quiet) console.log(line);
  };
  const simulator = await OllamaSimulator.start({
    models: [...DEFAULT_MODELS, ...EXTRA_MODELS],
    firstTokenDelayMs: 150,
    tokenDelayMs: 30,
    // Ollama's reported durations to match the delays: 30 ms per output token.
    timings: { evalNsPerToken: 30_000_000, promptNsPerToken: 1_000_000 },
  });
  let exporter: Exporter | undefined;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    const config = loadConfig({
      OLLAMA_HOST: simulator.url,
      LOG_LEVEL: options.logLevel,
      CLIENT_HEADER,
      HEALTH_INTERVAL_SECONDS: "5",
    }, ["--port", String(options.port), "--listen-host", options.listenHost]);
    exporter = new Exporter(config, { logger: new Logger(parseLevelName(options.logLevel)!) });
    await exporter.monitor.start(config.healthIntervalSeconds);
    try {
      server = Deno.serve(
        { hostname: config.listenHost, port: config.port, onListen: () => {} },
        exporter.handler,
      );
    } catch (error) {
      const address = { hostname: config.listenHost, port: config.port };
      throw new ListenError(listenFailure(error, address), { cause: error });
    }
  } catch (error) {
    await exporter?.close();
    await simulator.close();
    if (error instanceof ListenError) throw error;
    throw new Error(`Cannot start the demo: ${(error as Error).message}`, { cause: error });
  }
  const running = exporter;
  const url = `http://${displayHost(server.addr.hostname)}:${server.addr.port}`;

  out(`ollama-exporter demo
  Ollama (simulated)  ${simulator.url}  models: ${[...DEFAULT_MODELS, ...EXTRA_MODELS].join(", ")}
  exporter            ${url}  (proxy to the simulator, ${CLIENT_HEADER} -> client label)
  metrics             ${url}/metrics
  traffic             ${DEMO_CLIENTS.join(", ")}; ${
    options.durationSeconds === undefined ? "Ctrl-C to stop" : `${options.durationSeconds} s`
  }

Try:
  curl -s ${url}/metrics | grep -E '^ollama_(requests|tokens_generated)_total'
  curl -s -H 'Accept: application/openmetrics-text; version=1.0.0' ${url}/metrics | tail -5
  curl -s ${url}/api/generate -H '${CLIENT_HEADER}: me' \\
    -d '{"model":"llama3.2","prompt":"Why is the sky blue?","stream":false}'
  curl -sN ${url}/v1/chat/completions -H 'content-type: application/json' -H '${CLIENT_HEADER}: me' \\
    -d '{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"hi"}],"stream":true}'
`);

  const halt = new AbortController();
  const onStop = () => halt.abort();
  stop.addEventListener("abort", onStop);
  if (stop.aborted) halt.abort();
  const durationTimer = options.durationSeconds === undefined
    ? undefined
    : setTimeout(onStop, options.durationSeconds * 1000);
  const startedAt = performance.now();
  const elapsed = () => (performance.now() - startedAt) / 1000;
  const summaryTimer = setInterval(
    () => out(summaryLine(readTotals(running), elapsed())),
    (options.summaryEverySeconds ?? 3) * 1000,
  );
  const context = { base: url, simulator, stop: halt.signal };
  const clients = DEMO_CLIENTS.map((name, index) => runClient(name, index, context));

  const finished = (async () => {
    try {
      await Promise.allSettled(clients);
    } finally {
      clearTimeout(durationTimer);
      clearInterval(summaryTimer);
      stop.removeEventListener("abort", onStop);
      running.drain();
      await server.shutdown();
      await running.close();
      await simulator.close();
    }
    out(
      `${summaryLine(readTotals(running), elapsed())}\nstopped: traffic ended, servers shut down`,
    );
  })();
  return { url, ollamaUrl: simulator.url, exporter: running, finished };
}

/** Runs the demo until a signal or `--duration`; resolves with the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let options;
  try {
    const env = Object.fromEntries(
      ["PORT", "LISTEN_HOST", "LOG_LEVEL"].map((name) => [name, Deno.env.get(name)]),
    );
    options = parseDemoArgs(args, env);
  } catch (error) {
    console.error(`demo: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const stop = new AbortController();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const onSignal = () => {
    if (stop.signal.aborted) Deno.exit(130);
    if (!options.quiet) console.log("\nstopping: letting requests under way finish");
    stop.abort();
  };
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  try {
    const demo = await startDemo(options, stop.signal);
    await demo.finished;
    return 0;
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`);
    return 1;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  }
}

if (import.meta.main) {
  Deno.exitCode = await main(Deno.args);
}
