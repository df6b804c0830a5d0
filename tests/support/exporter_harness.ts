/**
 * Test helper: the real exporter handler served by `Deno.serve` on 127.0.0.1, in front of the
 * Ollama simulator, with helpers to scrape exact metric values.
 *
 * @module
 */

import { loadConfig } from "../../lib/config.ts";
import { Exporter } from "../../lib/exporter.ts";
import { Logger } from "../../lib/log.ts";
import { parseExposition, sample } from "./exposition.ts";
import { OllamaSimulator, type SimulatorOptions } from "./ollama_simulator.ts";
import type { Telemetry } from "../../lib/telemetry/telemetry.ts";

/** A running exporter and simulator pair. */
export class ExporterHarness {
  readonly simulator: OllamaSimulator;
  readonly exporter: Exporter;
  readonly url: string;
  readonly logs: string[];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #token: string;

  private constructor(
    simulator: OllamaSimulator,
    exporter: Exporter,
    server: Deno.HttpServer<Deno.NetAddr>,
    logs: string[],
    token: string,
  ) {
    this.#token = token;
    this.simulator = simulator;
    this.exporter = exporter;
    this.#server = server;
    this.url = `http://127.0.0.1:${server.addr.port}`;
    this.logs = logs;
  }

  /**
   * Starts a simulator and an exporter in front of it. `env` adds configuration variables;
   * `upstream` overrides OLLAMA_HOST (e.g. a dead port); `telemetry` builds the exporter's
   * OpenTelemetry side with the harness's logger (none by default).
   */
  static async start(
    options: {
      simulator?: SimulatorOptions;
      env?: Record<string, string>;
      upstream?: string;
      telemetry?: (logger: Logger) => Telemetry;
    } = {},
  ): Promise<ExporterHarness> {
    const simulator = await OllamaSimulator.start(options.simulator ?? {});
    const config = loadConfig({
      OLLAMA_HOST: options.upstream ?? simulator.url,
      LOG_LEVEL: "DEBUG",
      ...options.env,
    });
    const logs: string[] = [];
    const logger = new Logger("DEBUG", { sink: (line) => logs.push(line) });
    const telemetry = options.telemetry?.(logger);
    const exporter = new Exporter(config, { logger, ...(telemetry ? { telemetry } : {}) });
    await exporter.monitor.check();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      exporter.handler,
    );
    return new ExporterHarness(simulator, exporter, server, logs, config.metricsToken);
  }

  /** Scrapes `/metrics` and parses it. */
  async scrape(): Promise<Map<string, number>> {
    const token = this.#token;
    const response = await fetch(`${this.url}/metrics`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new Error(`Cannot scrape: HTTP ${response.status}`);
    return parseExposition(await response.text());
  }

  /** One series' value from a fresh scrape. */
  async value(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    return sample(await this.scrape(), name, labels);
  }

  /** One series' value from an earlier scrape. */
  valueIn(
    samples: Map<string, number>,
    name: string,
    labels: Record<string, string> = {},
  ): number | undefined {
    return sample(samples, name, labels);
  }

  /** Waits until no request is in flight (the metrics of finished streams are recorded). */
  async settle(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const samples = await this.scrape();
      const busy = [...samples].some(([k, v]) => k.startsWith("ollama_requests_in_flight") && v);
      if (!busy) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error("Cannot settle: requests are still in flight after 200 scrapes");
  }

  /** Stops both servers. */
  async close(): Promise<void> {
    await this.#server.shutdown();
    await this.exporter.close();
    await this.simulator.close();
  }
}

/** A fixed clock for the simulator, so `created_at` is the same in direct and proxied answers. */
export const FIXED_CLOCK = { now: (): number => 1764000000000 };

/**
 * Runs `body` with a fresh simulator (fixed clock unless the options say otherwise) and exporter,
 * and closes both afterwards, whatever happens.
 */
export async function withHarness(
  options: {
    simulator?: SimulatorOptions;
    env?: Record<string, string>;
    upstream?: string;
    telemetry?: (logger: Logger) => Telemetry;
  },
  body: (harness: ExporterHarness) => Promise<void>,
): Promise<void> {
  const harness = await ExporterHarness.start({
    ...options,
    simulator: { ...FIXED_CLOCK, ...options.simulator },
  });
  try {
    await body(harness);
  } finally {
    await harness.close();
  }
}
