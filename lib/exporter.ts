/**
 * Puts the exporter together: registry and metric families, the Ollama connection, its monitor
 * and model inventory, access control, and the route table; `handler` is what `Deno.serve` calls.
 *
 * @module
 */

import { ApiKeys } from "./api_keys.ts";
import { registerBuildInfo } from "./build_info.ts";
import { ClientLabels } from "./client_labels.ts";
import type { Config } from "./config.ts";
import { endpointLabel } from "./endpoint_label.ts";
import { type ExporterMetrics, registerExporterMetrics } from "./exporter_metrics.ts";
import { headerText } from "./header_text.ts";
import { getLogger, type Logger } from "./log.ts";
import { registerProcessMetrics } from "./metrics/process_metrics.ts";
import { Registry } from "./metrics/registry.ts";
import { ModelInventory } from "./model_inventory.ts";
import { SlotTracker } from "./observe/slot_tracker.ts";
import { ModelLabels } from "./model_labels.ts";
import type { ProxyContext } from "./proxy/proxy_context.ts";
import { Upstream } from "./proxy/upstream.ts";
import { Router } from "./router.ts";
import { authGuard } from "./routes/auth_guard.ts";
import { connectRefusal } from "./routes/connect_refusal.ts";
import { healthRoute } from "./routes/health_route.ts";
import { hostGuard } from "./routes/host_guard.ts";
import { metricsRoute } from "./routes/metrics_route.ts";
import { messagesApiRoute } from "./routes/messages_api_route.ts";
import { nativeApiRoute } from "./routes/native_api_route.ts";
import { openAiApiRoute } from "./routes/openai_api_route.ts";
import { passthroughRoute } from "./routes/passthrough_route.ts";
import { type Readiness, readyRoute } from "./routes/ready_route.ts";
import { responsesApiRoute } from "./routes/responses_api_route.ts";
import type { RouteHandler } from "./routes/route.ts";
import { UpstreamMonitor } from "./upstream_monitor.ts";
import { errorDetail } from "./error_detail.ts";
import type { Telemetry } from "./telemetry/telemetry.ts";

/** Options of {@linkcode Exporter}. */
export interface ExporterOptions {
  /** The logger (default: the module logger). */
  readonly logger?: Logger;
  /** Replaces `fetch` for the checks of Ollama and the inventory (proxied calls use the pool). */
  readonly fetch?: typeof fetch;
  /** The contents of `API_KEYS_FILE`, read by the caller (required when the file is set). */
  readonly apiKeysFileText?: string;
  /**
   * Spans and GenAI metrics over OpenTelemetry (`runtimeTelemetry()` gives them when Deno's own
   * OpenTelemetry is on); none when absent.
   */
  readonly telemetry?: Telemetry;
}

/** The assembled exporter. */
export class Exporter implements Readiness {
  /** The registry `/metrics` renders. */
  readonly registry: Registry;
  /** The request and token families. */
  readonly metrics: ExporterMetrics;
  /** Checks of Ollama. */
  readonly monitor: UpstreamMonitor;
  /** The loaded-model inventory. */
  readonly inventory: ModelInventory;
  /** Whether requests get spans and GenAI metrics over OpenTelemetry. */
  readonly telemetryOn: boolean;
  #router: Router;
  /** The router behind the `Host` check and the refusal of CONNECT. */
  #route: RouteHandler;
  #draining = false;
  #logger: Logger;
  #upstream: Upstream;

  /**
   * Throws an `Error` naming the setting when the API keys or the metrics token cannot be used.
   *
   * @param config the settings.
   * @param options logger, fetch, and the API key file's contents.
   */
  constructor(config: Config, options: ExporterOptions = {}) {
    const logger = options.logger ?? getLogger();
    this.#logger = logger;
    const keys = readKeys(config, options.apiKeysFileText);
    const metricsKeys = config.metricsToken === ""
      ? null
      : ApiKeys.token(config.metricsToken, { name: "prometheus", source: "METRICS_TOKEN" });
    const clientLabel = keys !== null || config.clientHeader !== "";

    this.registry = new Registry({
      onCollectError: (name, error) =>
        logger.warn("Cannot collect a metric family", { family: name, error: String(error) }),
    });
    registerProcessMetrics(this.registry);
    registerBuildInfo(this.registry);
    const metrics = registerExporterMetrics(this.registry, {
      clientLabel,
      waitingGauge: config.ollamaNumParallel > 0,
    });
    this.metrics = metrics;
    const models = new ModelLabels({ max: config.maxModels });
    const upstream = new Upstream(config.ollamaUrl, {
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(keys ? { dropHeaders: ["authorization"] } : {}),
      timeouts: {
        connectMs: config.upstreamConnectTimeoutSeconds * 1000,
        headMs: config.upstreamHeadTimeoutSeconds * 1000,
        idleMs: config.upstreamIdleTimeoutSeconds * 1000,
      },
    });
    this.#upstream = upstream;
    this.monitor = new UpstreamMonitor(upstream, {
      registry: this.registry,
      up: metrics.up,
      models,
      logger,
    });
    this.inventory = new ModelInventory(upstream, { registry: this.registry, models, logger });

    const telemetry = options.telemetry;
    this.telemetryOn = telemetry !== undefined;
    const clients = new ClientLabels({ max: config.maxClients });
    const keyNames = new WeakMap<Request, string>();
    const header = config.clientHeader;
    const proxy: ProxyContext = {
      upstream,
      sinks: {
        metrics,
        models,
        logger,
        clientLabel,
        contexts: this.inventory,
        ...(telemetry ? { telemetry } : {}),
        ...(metrics.requestsWaiting
          ? {
            slots: new SlotTracker(metrics.requestsWaiting, {
              parallel: config.ollamaNumParallel,
            }),
          }
          : {}),
      },
      limits: {
        maxRequestBytes: config.maxRequestBytes,
        injectStreamUsage: config.injectStreamUsage,
      },
      ...(clientLabel
        ? {
          clientOf: (request: Request) => {
            const named = keyNames.get(request);
            if (named !== undefined) return clients.label(named);
            const value = header ? request.headers.get(header) : null;
            return clients.label(value === null ? null : headerText(value));
          },
        }
        : {}),
    };
    const guard = (route: RouteHandler): RouteHandler =>
      keys === null ? route : authGuard(route, {
        keys,
        onAccepted: (request, name) => keyNames.set(request, name),
        onRejected: (_request, url) =>
          metrics.unauthorized.labels(endpointLabel(url.pathname)).inc(),
      });
    const own = ["GET", "HEAD"];
    const native = guard(nativeApiRoute(proxy));
    const openai = guard(openAiApiRoute(proxy));
    const scrape = metricsRoute(this.registry);
    this.#router = new Router([
      {
        path: "/metrics",
        methods: own,
        handler: metricsKeys
          ? authGuard(scrape, {
            keys: metricsKeys,
            messages: {
              missing: "unauthorized: send the metrics token as Authorization: Bearer <token>",
              invalid: "unauthorized: the metrics token is not valid",
            },
          })
          : scrape,
      },
      { path: "/healthz", methods: own, handler: healthRoute() },
      { path: "/readyz", methods: own, handler: readyRoute(this) },
      ...["/api/generate", "/api/chat", "/api/embed", "/api/embeddings"].map((path) => ({
        path,
        methods: ["POST"],
        handler: native,
      })),
      ...["/v1/chat/completions", "/v1/completions", "/v1/embeddings"].map((path) => ({
        path,
        methods: ["POST"],
        handler: openai,
      })),
      { path: "/v1/responses", methods: ["POST"], handler: guard(responsesApiRoute(proxy)) },
      { path: "/v1/messages", methods: ["POST"], handler: guard(messagesApiRoute(proxy)) },
    ], { fallback: guard(passthroughRoute(proxy)) });
    const router = this.#router;
    this.#route = hostGuard(connectRefusal((request, context) => router.handle(request, context)), {
      listenHost: config.listenHost,
      allowedHosts: config.allowedHosts,
    });
  }

  /** Whether Ollama answered the last check. */
  get up(): boolean {
    return this.monitor.up;
  }

  /** Whether the exporter is shutting down. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Ollama's address. */
  get upstream(): string {
    return this.monitor.upstream;
  }

  /** The connections to Ollama: open (busy or idle) and idle in the pool. */
  get upstreamConnections(): { open: number; idle: number } {
    return { open: this.#upstream.connections, idle: this.#upstream.idleConnections };
  }

  /** Stops the checks of Ollama and closes the connections to it. */
  async close(): Promise<void> {
    this.inventory.close();
    await this.monitor.stop();
    this.#upstream.close();
  }

  /** Marks the exporter as shutting down: `/readyz` answers 503 from now on. */
  drain(): void {
    this.#draining = true;
  }

  /** The `Deno.serve` handler. */
  readonly handler = (request: Request): Promise<Response> => {
    const start = performance.now();
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      // Deno builds the URL from the Host header; a Host such as `::1` or `:80` makes none.
      return Promise.resolve(
        new Response(
          JSON.stringify({ error: "bad request: the Host header is not a host or host:port" }) +
            "\n",
          { status: 400, headers: { "content-type": "application/json; charset=utf-8" } },
        ),
      );
    }
    const context = { url, start };
    return Promise.resolve(this.#route(request, context)).catch((error) => {
      this.#logger.error("Cannot handle the request", {
        path: context.url.pathname,
        error: errorDetail(error),
      });
      return new Response(JSON.stringify({ error: "internal error in the exporter" }), {
        status: 500,
        headers: { "content-type": "application/json; charset=utf-8" },
      });
    });
  };
}

/**
 * Reads the API keys from `API_KEYS` and the file's contents; `null` when neither is configured.
 * Fails closed: `API_KEYS` set to anything but `""`, or a file named by `API_KEYS_FILE`, must hold
 * at least one key, else start-up stops naming the source (an empty Kubernetes secret must not
 * leave the proxy open).
 */
function readKeys(config: Config, fileText: string | undefined): ApiKeys | null {
  const sources: { text: string; source: string }[] = [];
  if (config.apiKeys !== "") sources.push({ text: config.apiKeys, source: "API_KEYS" });
  if (config.apiKeysFile !== "") {
    const source = `API_KEYS_FILE "${config.apiKeysFile}"`;
    if (fileText === undefined) {
      throw new Error(`Cannot use ${source}: its contents were not read`);
    }
    sources.push({ text: fileText, source });
  }
  return sources.length === 0 ? null : ApiKeys.fromSources(sources);
}
