/**
 * The connection to Ollama: builds upstream URLs and sends requests with Ollama's own `Host`
 * (Ollama bound to loopback answers 403 to a foreign Host).
 *
 * @module
 */

import { type HeaderPairs, withoutHopHeaders } from "./hop_headers.ts";
import { Http1Client, Http1TimeoutError, type Http1Timeouts } from "../http1/http1_client.ts";
import { MalformedResponseError } from "../http1/http1_head.ts";
import type { UpstreamResponse } from "../http1/upstream_response.ts";
import { errorDetail } from "../error_detail.ts";

/** Thrown when Ollama cannot be reached: the proxy answers 502. */
export class UpstreamUnreachableError extends Error {
  /**
   * Creates the error; its message names Ollama's address and the network error.
   *
   * @param base Ollama's address.
   * @param options `cause` is the network error.
   */
  constructor(base: string, options: { cause: unknown }) {
    const detail = errorDetail(options.cause);
    super(`Cannot reach Ollama at ${base}: ${detail}`, options);
    this.name = "UpstreamUnreachableError";
  }
}

/** Sends requests to one Ollama server. */
export class Upstream {
  #base: string;
  #path: string;
  #fetch: typeof fetch;
  #drop: string[];
  #client: Http1Client;

  /**
   * Creates the connection; no request is sent until one is asked for.
   *
   * @param url Ollama's base URL.
   * @param options `fetch` replaces the global one for health checks and inventory (tests);
   * `dropHeaders` (lower-case) are not forwarded (the exporter's own `authorization` when it
   * checks API keys).
   */
  constructor(
    url: URL,
    options: {
      fetch?: typeof fetch;
      dropHeaders?: readonly string[];
      timeouts?: Http1Timeouts;
    } = {},
  ) {
    this.#path = url.pathname.replace(/\/+$/, "");
    this.#base = url.origin + this.#path;
    this.#fetch = options.fetch ?? fetch;
    this.#drop = ["host", "content-length", "expect", ...(options.dropHeaders ?? [])];
    this.#client = new Http1Client(new URL(url.origin), {
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
  }

  /** Ollama's base address, as logged and as named in 502 errors. */
  get base(): string {
    return this.#base;
  }

  /**
   * Forwards `request` to the same path and query on Ollama. `body` replaces the request's body:
   * bytes the proxy has read, or a stream it passes on (sent with `contentLength` when given,
   * else chunked). Throws {@linkcode UpstreamUnreachableError} when no
   * response comes, `MalformedResponseError` when the answer cannot be passed on,
   * `Http1TimeoutError` when a time limit ran out, and rethrows the abort when `clientSignal`
   * fires first.
   *
   * `traceHeaders` (lower-case names) replace the client's fields of the same names: the trace
   * context of the exporter's own span, when OpenTelemetry is on; an empty value drops the
   * client's field without sending one.
   *
   * `clientSignal` (the request's signal) cancels the upstream call, and the reading of its
   * body: a client that leaves closes the upstream connection.
   */
  async forward(
    request: Request,
    url: URL,
    options: {
      body?: Uint8Array | ReadableStream<Uint8Array>;
      contentLength?: number;
      clientSignal?: AbortSignal;
      traceHeaders?: HeaderPairs;
    } = {},
  ): Promise<UpstreamResponse> {
    const trace = options.traceHeaders;
    const headers = trace === undefined || trace.length === 0
      ? withoutHopHeaders(request.headers, { drop: this.#drop })
      : [
        ...withoutHopHeaders(request.headers, {
          drop: [...this.#drop, ...trace.map(([name]) => name)],
        }),
        ...trace.filter(([, value]) => value !== ""),
      ];
    const method = request.method;
    let body: Uint8Array | ReadableStream<Uint8Array> | null = options.body ?? null;
    let contentLength = body instanceof ReadableStream ? options.contentLength : undefined;
    if (body === null) {
      // An HTTP/1.1 request has a body only when it announced one (RFC 9112 §6.3); Deno gives
      // every request a body stream, so the announcement decides. No framing header goes out for
      // a request without one. (`request.body` is a getter that builds a stream: only touched
      // when there is a body.)
      const length = request.headers.get("content-length");
      if (length !== null && /^\d+$/.test(length)) {
        contentLength = Number(length);
        body = contentLength === 0 ? new Uint8Array(0) : request.body;
      } else if (request.headers.has("transfer-encoding")) {
        body = request.body;
      }
    }
    try {
      return await this.#client.request(method, this.#path + url.pathname + url.search, {
        headers,
        body,
        ...(contentLength !== undefined ? { contentLength } : {}),
        ...(options.clientSignal ? { signal: options.clientSignal } : {}),
      });
    } catch (error) {
      if (options.clientSignal?.aborted) throw error;
      // Ollama answered something that cannot be passed on, or too late: said as such.
      if (error instanceof MalformedResponseError || error instanceof Http1TimeoutError) {
        throw error;
      }
      throw new UpstreamUnreachableError(this.#base, { cause: error });
    }
  }

  /** GETs a path on Ollama with a timeout, for health checks and inventory. */
  get(path: string, options: { timeoutMs: number }): Promise<Response> {
    return this.#fetch(this.#base + path, {
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  }

  /** Open connections to Ollama, busy or idle in the pool. */
  get connections(): number {
    return this.#client.connections;
  }

  /** Connections idle in the pool. */
  get idleConnections(): number {
    return this.#client.idleConnections;
  }

  /** Closes the pooled connections (at shutdown). */
  close(): void {
    this.#client.close();
  }
}
