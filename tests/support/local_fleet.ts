/**
 * Test helper: a local fleet of REAL Ollama servers (`../shared/real-ollama`, each its own
 * process on a free port of 127.0.0.1) with one exporter beside each, as the sidecar layout puts
 * them: every exporter is the in-process `Exporter` served by `Deno.serve` on 127.0.0.1, with
 * `OLLAMA_HOST` naming its own Ollama and a health check every second (so `ollama_up` follows a
 * stopped server within a scrape or two).
 *
 * When the shared folder is absent, `REAL_OLLAMA_START_ABSENT` (from `real_ollama_env.ts`) says
 * why, in one line, for the tests' `ignore` condition.
 *
 * @module
 */

import { loadConfig } from "../../lib/config.ts";
import { Exporter } from "../../lib/exporter.ts";
import { type LevelName, Logger } from "../../lib/log.ts";
import {
  REAL_OLLAMA_START_ABSENT,
  type RealOllama,
  startRealOllamaWith,
} from "./real_ollama_env.ts";

export { REAL_OLLAMA_START_ABSENT };

/** One logged line of an exporter, with its level. */
export interface LoggedLine {
  readonly level: LevelName;
  readonly line: string;
}

/** One Ollama of the fleet and the exporter beside it. */
export interface FleetMember {
  /** Its position in the fleet, from 0. */
  readonly index: number;
  /** The real Ollama. */
  readonly ollama: RealOllama;
  /** The exporter in front of it. */
  readonly exporter: Exporter;
  /** The exporter's base URL, `http://127.0.0.1:PORT`: where clients (the Service) send. */
  readonly url: string;
  /** The exporter's `host:port`: Prometheus's target, and so the `instance` label. */
  readonly address: string;
  /** What the exporter logged. */
  readonly logs: LoggedLine[];
}

/** Seconds between the exporters' checks of their Ollama (`HEALTH_INTERVAL_SECONDS`). */
export const FLEET_HEALTH_INTERVAL_SECONDS = 1;

/** A running fleet. Start with {@linkcode LocalFleet.start}; always {@linkcode LocalFleet.close} it. */
export class LocalFleet {
  /** The members, in order. */
  readonly members: readonly FleetMember[];
  #servers: Deno.HttpServer<Deno.NetAddr>[];
  #closed: Promise<void> | undefined;

  private constructor(members: FleetMember[], servers: Deno.HttpServer<Deno.NetAddr>[]) {
    this.members = members;
    this.#servers = servers;
  }

  /**
   * Starts `size` real Ollama servers (in parallel) and an exporter beside each, and waits until
   * every exporter has seen its Ollama answer. Stops whatever it started when anything fails.
   */
  static async start(size: number): Promise<LocalFleet> {
    const started = await Promise.allSettled(
      Array.from({ length: size }, () => startRealOllamaWith({})),
    );
    const ollamas = started.flatMap((result) =>
      result.status === "fulfilled" ? [result.value] : []
    );
    const failed = started.find((result) => result.status === "rejected");
    if (failed !== undefined) {
      await Promise.allSettled(ollamas.map((ollama) => ollama.close()));
      throw (failed as PromiseRejectedResult).reason;
    }
    const members: FleetMember[] = [];
    const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
    try {
      for (const [index, ollama] of ollamas.entries()) {
        const logs: LoggedLine[] = [];
        const exporter = new Exporter(
          loadConfig({
            OLLAMA_HOST: ollama.url,
            LOG_LEVEL: "INFO",
            HEALTH_INTERVAL_SECONDS: String(FLEET_HEALTH_INTERVAL_SECONDS),
          }),
          { logger: new Logger("INFO", { sink: (line, level) => logs.push({ level, line }) }) },
        );
        const server = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen: () => {} },
          exporter.handler,
        );
        servers.push(server);
        const address = `127.0.0.1:${server.addr.port}`;
        members.push({ index, ollama, exporter, url: `http://${address}`, address, logs });
        await exporter.monitor.start(FLEET_HEALTH_INTERVAL_SECONDS);
        if (!exporter.monitor.up) throw new Error(`Exporter ${index} cannot reach ${ollama.url}`);
      }
    } catch (error) {
      await new LocalFleet(members, servers).close();
      await Promise.allSettled(ollamas.map((ollama) => ollama.close()));
      throw error;
    }
    return new LocalFleet(members, servers);
  }

  /** Stops every exporter and every Ollama (their model runners too). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled(this.#servers.map((server) => server.shutdown()));
      await Promise.allSettled(this.members.map((member) => member.exporter.close()));
      await Promise.allSettled(this.members.map((member) => member.ollama.close()));
    })();
    return this.#closed;
  }
}
