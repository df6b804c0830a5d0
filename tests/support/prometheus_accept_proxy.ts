/**
 * Test helper: a tiny HTTP proxy on 127.0.0.1 that forwards every GET to one upstream with a
 * fixed `Accept` header. Prometheus 2.42 cannot be told per job which exposition format to ask
 * for (`scrape_protocols` came in 2.49); scraping through this proxy with
 * `Accept: text/plain;version=0.0.4` makes one job get the text format while another job,
 * scraping the exporter directly, negotiates OpenMetrics.
 *
 * It records, per request, the `Accept` it received and the `Content-Type` the upstream answered,
 * so a test can prove which format each side saw.
 *
 * @module
 */

/** One request the proxy forwarded. */
export interface ProxiedScrape {
  /** `Accept` as the scraper sent it (`null` when absent). */
  readonly receivedAccept: string | null;
  /** `Accept` sent upstream instead. */
  readonly sentAccept: string;
  /** The upstream's status. */
  readonly status: number;
  /** The upstream's `Content-Type` (`null` when absent). */
  readonly contentType: string | null;
}

/** Options of {@link AcceptRewritingProxy.start}. */
export interface AcceptRewritingProxyOptions {
  /** Base URL of the upstream, e.g. `http://127.0.0.1:8000`. */
  readonly upstream: string;
  /** The `Accept` header every forwarded request carries. */
  readonly accept: string;
}

/** A running proxy. Start with {@link AcceptRewritingProxy.start}; always {@link close} it. */
export class AcceptRewritingProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`, as a Prometheus target. */
  readonly target: string;
  /** Every forwarded request, in order. */
  readonly scrapes: ProxiedScrape[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(options: AcceptRewritingProxyOptions) {
    const upstream = options.upstream.replace(/\/+$/, "");
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#forward(request, upstream, options.accept),
    );
    this.target = `127.0.0.1:${this.#server.addr.port}`;
    this.url = `http://${this.target}`;
  }

  /** Starts the proxy on a free port of 127.0.0.1. */
  static start(options: AcceptRewritingProxyOptions): AcceptRewritingProxy {
    return new AcceptRewritingProxy(options);
  }

  async #forward(request: Request, upstream: string, accept: string): Promise<Response> {
    if (request.method !== "GET") {
      return new Response(`Cannot ${request.method}: this proxy forwards GET only\n`, {
        status: 405,
      });
    }
    const url = new URL(request.url);
    // No Accept-Encoding: the body comes back as the exporter renders it, and is passed on as is.
    const headers = new Headers({ accept, "accept-encoding": "identity" });
    const timeout = request.headers.get("x-prometheus-scrape-timeout-seconds");
    if (timeout !== null) headers.set("x-prometheus-scrape-timeout-seconds", timeout);
    let response: Response;
    try {
      response = await fetch(upstream + url.pathname + url.search, { headers });
    } catch (error) {
      return new Response(
        `Cannot reach ${upstream}${url.pathname}: ${(error as Error).message}\n`,
        { status: 502 },
      );
    }
    const body = await response.bytes();
    const contentType = response.headers.get("content-type");
    this.scrapes.push({
      receivedAccept: request.headers.get("accept"),
      sentAccept: accept,
      status: response.status,
      contentType,
    });
    return new Response(body, {
      status: response.status,
      headers: contentType === null ? {} : { "content-type": contentType },
    });
  }

  /** Stops listening and waits for requests under way. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
