/**
 * What every simulated route receives.
 *
 * @module
 */

import type { LoadedModels } from "./loaded_models.ts";
import type { ModelCatalog } from "./model_catalog.ts";
import type { Reply } from "./reply.ts";
import type { Admission, AdmissionAsk } from "./scheduler.ts";
import type { ResolvedOptions } from "./simulator_options.ts";

/** The request as a route sees it, body already read. */
export interface RouteRequest {
  readonly method: string;
  readonly path: string;
  /** Values of `:name` path segments. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: Headers;
  /** Body decoded as UTF-8 (invalid bytes replaced). */
  readonly text: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/** Server state and configuration a route may read or change. */
export interface RouteContext {
  /** Configuration as it was when the request arrived. */
  readonly options: ResolvedOptions;
  readonly catalog: ModelCatalog;
  readonly loaded: LoadedModels;
  /** Digests (`sha256:<hex>`) of the blobs the server holds. */
  readonly blobs: Set<string>;
  /** When the request arrived, ms since the epoch. */
  readonly receivedAt: number;
  /** Request number since start, from 1 (ids like `chatcmpl-N` derive from it). */
  readonly sequence: number;
  /** Current time for timestamps written while streaming (the arrival time in fast mode). */
  clock(): number;
  /**
   * Waits until Ollama's scheduler lets the request run on its model (loaded, with a parallel
   * slot), or says it cannot (`busy`: the queue is full; `gone`: the client left, the route's
   * answer is then dropped). The model counts as used until the response is over.
   */
  admit(ask: AdmissionAsk): Promise<Admission>;
}

/** A route: turns a request into a reply. */
export type RouteHandler = (request: RouteRequest, context: RouteContext) => Reply | Promise<Reply>;
