/**
 * ollama-exporter: a transparent proxy in front of Ollama that exports Prometheus metrics per
 * model. Reads the configuration, serves, and on SIGTERM/SIGINT keeps serving for
 * `SHUTDOWN_DELAY_SECONDS` with `/readyz` at 503, then drains in-flight requests. A start-up
 * failure (bad setting, port in use, unknown address) is one line on stderr and exit code 2.
 *
 * @module
 */

import { versionLine } from "./lib/build_info.ts";
import { CONFIG_SETTINGS, loadConfig, usage } from "./lib/config.ts";
import { Exporter } from "./lib/exporter.ts";
import { exposureWarning } from "./lib/exposure_warning.ts";
import { listenFailure } from "./lib/listen_failure.ts";
import { setup } from "./lib/log.ts";
import { runtimeTelemetry } from "./lib/telemetry/runtime_telemetry.ts";

/** Runs the exporter until a termination signal; resolves with the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage());
    return 0;
  }
  if (args.includes("--version")) {
    console.log(versionLine());
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
  const logger = setup({ level: config.logLevel, format: config.logFormat });
  let exporter: Exporter;
  try {
    const apiKeysFileText = config.apiKeysFile === "" ? undefined : readKeyFile(config.apiKeysFile);
    const telemetry = await runtimeTelemetry(config.ollamaUrl, { logger });
    exporter = new Exporter(config, {
      logger,
      ...(apiKeysFileText !== undefined ? { apiKeysFileText } : {}),
      ...(telemetry !== undefined ? { telemetry } : {}),
    });
  } catch (error) {
    console.error(`ollama-exporter: ${(error as Error).message}`);
    return 2;
  }
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    // Deno.serve opens the listener at once and throws here when it cannot (port in use, an
    // address of another machine, a name that does not resolve).
    server = Deno.serve({
      hostname: config.listenHost,
      port: config.port,
      onListen: ({ hostname, port }) => {
        const address = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
        logger.info("listening", {
          address,
          upstream: exporter.monitor.upstream,
          opentelemetry: exporter.telemetryOn ? "on" : "off",
        });
        const warning = exposureWarning(config);
        if (warning !== null) logger.warn(warning, { address });
      },
    }, exporter.handler);
  } catch (error) {
    await exporter.close();
    const address = { hostname: config.listenHost, port: config.port };
    console.error(`ollama-exporter: ${listenFailure(error, address)}`);
    return 2;
  }
  void exporter.monitor.start(config.healthIntervalSeconds);

  const { promise: stopped, resolve: stop } = Promise.withResolvers<string>();
  let again: (() => void) | undefined;
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  for (const signal of signals) {
    Deno.addSignalListener(signal, () => {
      stop(signal);
      again?.();
    });
  }
  const signal = await Promise.race([stopped, server.finished.then(() => "server closed")]);
  exporter.drain();

  if (config.shutdownDelaySeconds > 0 && signal !== "server closed") {
    // Load balancers see /readyz at 503 and take the exporter out of rotation while everything
    // else is still served; a second signal cuts the delay short.
    logger.info("shutting down: /readyz answers 503, still serving until the delay is over", {
      signal,
      delay_seconds: config.shutdownDelaySeconds,
    });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, config.shutdownDelaySeconds * 1000);
      again = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  logger.info("shutting down: draining in-flight requests", {
    signal,
    grace_seconds: config.shutdownGraceSeconds,
  });
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
