/**
 * Command line of the simulator: serve on a fixed port until SIGINT or SIGTERM.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { SimulatorOptions, SplitMode } from "./simulator_options.ts";

/** The part of a running simulator the command line needs. */
export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

const USAGE = `Usage: deno run --allow-net tests/support/ollama_simulator.ts [options]

Serves a simulated Ollama on 127.0.0.1 until SIGINT or SIGTERM.

  --port N                  port (default 11434; 0 picks a free one)
  --token-delay-ms N        delay between streamed chunks (default 0)
  --first-token-delay-ms N  delay before the first chunk and the headers (default 0)
  --pull-interval-ms N      delay between pull progress lines (default 0)
  --response-tokens N       natural answer length in tokens (default 8)
  --thinking-tokens N       thinking length of a thinking model (default 5)
  --stops-naturally         a limit above the natural length does not extend the answer
  --openai-stream-format F  0.24 or 0.32.6 (default: from --version)
  --split line|byte|random  how responses are cut into writes (default line)
  --seed N                  seed of the random split (default 1)
  --models a,b,c            installed models
  --version V               reported version (default 0.33.0)
  --fail-after N            fail every generation after N chunks
  --num-parallel N          parallel requests per loaded model (default: no limit)
  --max-queue N             requests the scheduler queue holds before 503 (default 512)
  --load-delay-ms N         time a model load takes (default 0)
  --fast                    benchmark mode (no delays, requests not recorded)
  --help                    this text
`;

/**
 * Parses `args`, starts a server with `start`, prints its URL and serves until SIGINT/SIGTERM,
 * then closes it. Returns the process exit code.
 */
export async function runSimulatorCli(
  args: readonly string[],
  start: (options: SimulatorOptions) => Promise<RunningServer>,
): Promise<number> {
  let options: SimulatorOptions;
  try {
    options = parseOptions(args);
  } catch (error) {
    console.error(`Cannot start the Ollama simulator: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if ("help" in options) {
    console.log(USAGE);
    return 0;
  }
  const server = await start(options);
  console.log(`Ollama simulator listening on ${server.url}`);
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  await new Promise<void>((resolve) => {
    const stop = () => {
      for (const signal of signals) Deno.removeSignalListener(signal, stop);
      resolve();
    };
    for (const signal of signals) Deno.addSignalListener(signal, stop);
  });
  await server.close();
  console.log("Ollama simulator stopped");
  return 0;
}

function parseOptions(args: readonly string[]): SimulatorOptions & { help?: true } {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      port: { type: "string", default: "11434" },
      "token-delay-ms": { type: "string" },
      "first-token-delay-ms": { type: "string" },
      "pull-interval-ms": { type: "string" },
      "response-tokens": { type: "string" },
      "thinking-tokens": { type: "string" },
      "stops-naturally": { type: "boolean" },
      "openai-stream-format": { type: "string" },
      split: { type: "string" },
      seed: { type: "string" },
      models: { type: "string" },
      version: { type: "string" },
      "fail-after": { type: "string" },
      "num-parallel": { type: "string" },
      "max-queue": { type: "string" },
      "load-delay-ms": { type: "string" },
      fast: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help === true) return { help: true };
  const options: SimulatorOptions = { port: integer("port", values.port) ?? 11434 };
  const numbers = {
    tokenDelayMs: integer("token-delay-ms", values["token-delay-ms"]),
    firstTokenDelayMs: integer("first-token-delay-ms", values["first-token-delay-ms"]),
    pullIntervalMs: integer("pull-interval-ms", values["pull-interval-ms"]),
    responseTokens: integer("response-tokens", values["response-tokens"]),
    thinkingTokens: integer("thinking-tokens", values["thinking-tokens"]),
    seed: integer("seed", values.seed),
    numParallel: integer("num-parallel", values["num-parallel"]),
    maxQueue: integer("max-queue", values["max-queue"]),
    loadDelayMs: integer("load-delay-ms", values["load-delay-ms"]),
  };
  for (const [key, value] of Object.entries(numbers)) {
    if (value !== undefined) (options as Record<string, unknown>)[key] = value;
  }
  if (values.split !== undefined) {
    if (!["line", "byte", "random"].includes(values.split)) {
      throw new Error(`--split must be line, byte or random, not "${values.split}"`);
    }
    options.split = values.split as SplitMode;
  }
  if (values.models !== undefined) {
    options.models = values.models.split(",").map((name) => name.trim()).filter(Boolean);
  }
  if (values.version !== undefined) options.version = values.version;
  const format = values["openai-stream-format"];
  if (format !== undefined) {
    if (format !== "0.24" && format !== "0.32.6") {
      throw new Error(`--openai-stream-format must be 0.24 or 0.32.6, not "${format}"`);
    }
    options.openAiStreamFormat = format;
  }
  if (values["stops-naturally"] === true) options.stopsNaturally = true;
  const failAfter = integer("fail-after", values["fail-after"]);
  if (failAfter !== undefined) options.failMidStream = { afterChunks: failAfter };
  if (values.fast === true) options.fast = true;
  return options;
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    throw new Error(`--${name} must be a non-negative integer, not "${value}"`);
  }
  return parsed;
}
