/**
 * Puts the exporter together: registry and metric families, the Ollama connection and its
 * monitor, and the route table; `handler` is what `Deno.serve` calls.
 *
 * @module
 */

import type { Config } from "./config.ts";
import { type ExporterMetrics, registerExporterMetrics } from "./exporter_metrics.ts";
import { getLogger, type Logger } from "./log.ts";
import { registerProcessMetrics } from "./metrics/process_metrics.ts";
import { Registry } from "./metrics/registry.ts";
import { ModelLabels } from "./model_labels.ts";
import type { ProxyContext } from "./proxy/proxy_context.ts";
import { Upstream } from "./proxy/upstream.ts";
import { Router } from "./router.ts";
import { healthRoute } from "./routes/health_route.ts";
import { metricsRoute } from "./routes/metrics_route.ts";
import { nativeGenerationRoute } from "./routes/native_generation_route.ts";
import { passthroughRoute } from "./routes/passthrough_route.ts";
import { readyRoute } from "./routes/ready_route.ts";
import { UpstreamMonitor } from "./upstream_monitor.ts";

/** The assembled exporter. */
export class Exporter {
  /** The registry `/metrics` renders. */
  readonly registry: Registry;
  /** The request and token families. */
  readonly metrics: ExporterMetrics;
  /** Checks of Ollama. */
  readonly monitor: UpstreamMonitor;
  #router: Router;
  #draining = false;
  #logger: Logger;

  /**
   * @param config the settings.
   * @param options `logger` (default: the module logger), `fetch` for upstream calls (tests).
   */
  constructor(config: Config, options: { logger?: Logger; fetch?: typeof fetch } = {}) {
    const logger = options.logger ?? getLogger();
    this.#logger = logger;
    this.registry = new Registry({
      onCollectError: (name, error) =>
        logger.warn("Cannot collect a metric family", { family: name, error: String(error) }),
    });
    registerProcessMetrics(this.registry);
    this.metrics = registerExporterMetrics(this.registry);
    const models = new ModelLabels({ max: config.maxModels });
    const upstream = new Upstream(config.ollamaUrl, options.fetch ? { fetch: options.fetch } : {});
    this.monitor = new UpstreamMonitor(upstream, {
      registry: this.registry,
      up: this.metrics.up,
      models,
      logger,
    });
    const proxy: ProxyContext = {
      upstream,
      sinks: { metrics: this.metrics, models, logger, clientLabel: false },
    };
    const exporter = this;
    const readiness = {
      get up() {
        return exporter.monitor.up;
      },
      get draining() {
        return exporter.#draining;
      },
      upstream: upstream.base,
    };
    const own = ["GET", "HEAD"];
    const generation = nativeGenerationRoute(proxy);
    this.#router = new Router([
      { path: "/metrics", methods: own, handler: metricsRoute(this.registry) },
      { path: "/healthz", methods: own, handler: healthRoute() },
      { path: "/readyz", methods: own, handler: readyRoute(readiness) },
      { path: "/api/generate", methods: ["POST"], handler: generation },
      { path: "/api/chat", methods: ["POST"], handler: generation },
    ], { fallback: passthroughRoute(proxy) });
  }

  /** Marks the exporter as shutting down: `/readyz` answers 503 from now on. */
  drain(): void {
    this.#draining = true;
  }

  /** The `Deno.serve` handler. */
  readonly handler = (request: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const start = performance.now();
    const completed = info.completed;
    // Nobody may be waiting on it; an unobserved rejection must not end the process.
    completed.catch(() => {});
    const context = { url: new URL(request.url), start, completed };
    return Promise.resolve(this.#router.handle(request, context)).catch((error) => {
      this.#logger.error("Cannot handle the request", {
        path: context.url.pathname,
        error: error instanceof Error ? error.message : String(error),
      });
      return new Response(JSON.stringify({ error: "internal error in the exporter" }), {
        status: 500,
        headers: { "content-type": "application/json; charset=utf-8" },
      });
    });
  };
}
