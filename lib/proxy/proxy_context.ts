/**
 * What the proxy routes share: the upstream connection and where measurements go.
 *
 * @module
 */

import type { Upstream } from "./upstream.ts";
import type { ObservationSinks } from "../observe/request_observation.ts";

/** The dependencies of the proxy routes. */
export interface ProxyContext {
  /** The connection to Ollama that requests are forwarded to. */
  readonly upstream: Upstream;
  /** Where each request's metrics and log line go. */
  readonly sinks: ObservationSinks;
  /** Limits and switches of the exchange. */
  readonly limits: ProxyLimits;
  /** The `client` label value of a request, when per-client attribution is on. */
  readonly clientOf?: (request: Request) => string;
}

/** Limits and switches of the exchange, from the configuration. */
export interface ProxyLimits {
  /** Largest request body accepted on routes whose body is read (413 beyond). */
  readonly maxRequestBytes: number;
  /** Whether streaming OpenAI requests get `stream_options.include_usage` added. */
  readonly injectStreamUsage: boolean;
}

/** What a route gets besides the request. */
export interface RouteContext {
  /** The parsed request URL. */
  readonly url: URL;
  /** `performance.now()` when the request arrived. */
  readonly start: number;
}
