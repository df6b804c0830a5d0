/**
 * ollama-exporter: a transparent proxy in front of Ollama that exports Prometheus metrics per
 * model. Reads the configuration, serves, and drains in-flight requests on SIGTERM/SIGINT.
 *
 * @module
 */

import { CONFIG_SETTINGS, loadConfig, usage } from "./lib/config.ts";
import { Exporter } from "./lib/exporter.ts";
import { setup } from "./lib/log.ts";

/** Runs the exporter until a termination signal; resolves with the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage());
    return 0;
  }
  let config;
  try {
    // Read by name: the exporter runs with --allow-env for exactly these variables.
    const env = Object.fromEntries(CONFIG_SETTINGS.map((s) => [s.env, Deno.env.get(s.env)]));
    config = loadConfig(env, args);
  } catch (error) {
    console.error(`ollama-exporter: ${(error as Error).message}`);
    return 2;
  }
  const logger = setup({ level: config.logLevel });
  let exporter: Exporter;
  try {
    const apiKeysFileText = config.apiKeysFile === "" ? undefined : readKeyFile(config.apiKeysFile);
    exporter = new Exporter(config, {
      logger,
      ...(apiKeysFileText !== undefined ? { apiKeysFileText } : {}),
    });
  } catch (error) {
    console.error(`ollama-exporter: ${(error as Error).message}`);
    return 2;
  }
  const server = Deno.serve({
    hostname: config.listenHost,
    port: config.port,
    onListen: ({ hostname, port }) => {
      logger.info("listening", {
        address: `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`,
        upstream: exporter.monitor.upstream,
      });
    },
  }, exporter.handler);
  void exporter.monitor.start(config.healthIntervalSeconds);

  const { promise: stopped, resolve: stop } = Promise.withResolvers<string>();
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  for (const signal of signals) Deno.addSignalListener(signal, () => stop(signal));
  const signal = await Promise.race([stopped, server.finished.then(() => "server closed")]);

  logger.info("shutting down: draining in-flight requests", {
    signal,
    grace_seconds: config.shutdownGraceSeconds,
  });
  exporter.drain();
  await exporter.monitor.stop();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), config.shutdownGraceSeconds * 1000);
  });
  const outcome = await Promise.race([server.shutdown().then(() => "drained" as const), grace]);
  clearTimeout(timer);
  await exporter.close();
  if (outcome === "timeout") {
    logger.warn("grace period over: closing the remaining connections");
  } else {
    logger.info("drained: every in-flight request finished");
  }
  return 0;
}

function readKeyFile(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    const why =
      error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
        ? "no read permission (run with --allow-read for that path, or use API_KEYS)"
        : (error as Error).message;
    throw new Error(`Cannot read API_KEYS_FILE "${path}": ${why}`);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
