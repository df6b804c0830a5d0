/**
 * The connection to Ollama: builds upstream URLs and sends requests with Ollama's own `Host`
 * (Ollama bound to loopback answers 403 to a foreign Host).
 *
 * @module
 */

import { withoutHopHeaders } from "./hop_headers.ts";
import { errorDetail } from "../error_detail.ts";

/** Thrown when Ollama cannot be reached: the proxy answers 502. */
export class UpstreamUnreachableError extends Error {
  /** @param base Ollama's address. @param options `cause` is the network error. */
  constructor(base: string, options: { cause: unknown }) {
    const detail = errorDetail(options.cause);
    super(`Cannot reach Ollama at ${base}: ${detail}`, options);
    this.name = "UpstreamUnreachableError";
  }
}

/** Sends requests to one Ollama server. */
export class Upstream {
  #base: string;
  #fetch: typeof fetch;
  #drop: string[];

  /**
   * @param url Ollama's base URL.
   * @param options `fetch` replaces the global one (tests); `dropHeaders` (lower-case) are not
   * forwarded (the exporter's own `authorization` when it checks API keys).
   */
  constructor(url: URL, options: { fetch?: typeof fetch; dropHeaders?: readonly string[] } = {}) {
    this.#base = url.origin + url.pathname.replace(/\/+$/, "");
    this.#fetch = options.fetch ?? fetch;
    this.#drop = ["host", "content-length", ...(options.dropHeaders ?? [])];
  }

  /** Ollama's base address, as logged and as named in 502 errors. */
  get base(): string {
    return this.#base;
  }

  /**
   * Forwards `request` to the same path and query on Ollama. `body` replaces the request's body
   * (when the proxy has already read it). Throws {@linkcode UpstreamUnreachableError} when no
   * response comes, and rethrows the abort when `clientSignal` fires first.
   *
   * `clientSignal` (the request's signal) cancels the upstream call only until Ollama's response
   * headers arrive: Deno also fires it once the response is handed over, and the body must go on
   * flowing then. Afterwards a client that leaves cancels the body stream, which closes the
   * upstream connection.
   */
  async forward(
    request: Request,
    url: URL,
    options: { body?: Uint8Array; clientSignal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers = withoutHopHeaders(request.headers, { drop: this.#drop });
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const body = options.body ?? (hasBody ? request.body : null);
    const abort = new AbortController();
    const clientSignal = options.clientSignal;
    const onAbort = () => abort.abort(clientSignal?.reason);
    clientSignal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await this.#fetch(this.#base + url.pathname + url.search, {
        method: request.method,
        headers,
        body: body as BodyInit | null,
        redirect: "manual",
        signal: abort.signal,
      });
    } catch (error) {
      if (abort.signal.aborted) throw error;
      throw new UpstreamUnreachableError(this.#base, { cause: error });
    } finally {
      clientSignal?.removeEventListener("abort", onAbort);
    }
  }

  /** GETs a path on Ollama with a timeout, for health checks and inventory. */
  get(path: string, options: { timeoutMs: number }): Promise<Response> {
    return this.#fetch(this.#base + path, {
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  }
}
