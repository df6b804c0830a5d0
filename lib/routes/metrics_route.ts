/**
 * `GET /metrics`: the registry in the format the scraper asks for.
 *
 * @module
 */

import { metricsResponse } from "../metrics/metrics_response.ts";
import type { Registry } from "../metrics/registry.ts";
import type { RouteHandler } from "./route.ts";

/** Creates the scrape route. */
export function metricsRoute(registry: Registry): RouteHandler {
  return (request) => metricsResponse(registry, request);
}
