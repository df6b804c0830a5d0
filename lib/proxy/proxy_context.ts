/**
 * What the proxy routes share: the upstream connection and where measurements go.
 *
 * @module
 */

import type { Upstream } from "./upstream.ts";
import type { ObservationSinks } from "./request_observation.ts";

/** The dependencies of the proxy routes. */
export interface ProxyContext {
  readonly upstream: Upstream;
  readonly sinks: ObservationSinks;
  /** The `client` label value of a request, when per-client attribution is on. */
  readonly clientOf?: (request: Request) => string;
}
