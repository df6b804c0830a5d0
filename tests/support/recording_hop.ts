/**
 * Test helper: a tiny HTTP proxy on 127.0.0.1 placed between the exporter and a real Ollama. It
 * forwards each request as it came (the body byte for byte, hop-by-hop headers dropped) and
 * relays Ollama's answer chunk by chunk as `fetch` hands it over, never buffering a stream, while
 * it records the status, the headers and every body chunk it relayed. Tests then know exactly what
 * Ollama sent for each request, and compute the expected metrics from those bytes.
 *
 * A request is found again by the value of its {@linkcode EXCHANGE_ID_HEADER} header, which the
 * client sets and the exporter forwards unchanged; requests without one (the exporter's own checks
 * of Ollama, `/api/ps` at scrape time) are recorded too, under `null`.
 *
 * Ollama never compresses its answers; if it did, `fetch` would hand over decoded bytes.
 *
 * @module
 */

/** The request header whose value names an exchange (set by the test's client). */
export const EXCHANGE_ID_HEADER = "x-conformance-id";

/**
 * The request header that asks the hop to end Ollama's answer early: at the start of the first
 * line containing the header's value (e.g. `"done":true`, `data: [DONE]`), the hop stops relaying
 * and ends the body cleanly, so the exporter sees a stream without its terminator. Whole lines
 * are relayed while it waits for one, so a line is never cut in two.
 */
export const CUT_BEFORE_HEADER = "x-conformance-cut-before";

/** Headers that belong to one connection and are not forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

/**
 * How the relayed answer body ended: whole, cancelled by the exporter, failed, or ended early
 * by the hop as {@linkcode CUT_BEFORE_HEADER} asked.
 */
export type BodyOutcome = "complete" | "cancelled" | "error" | "cut";

/** One request forwarded to Ollama and the answer relayed back, as recorded. */
export interface RecordedExchange {
  /** The {@linkcode EXCHANGE_ID_HEADER} value, or `null` when the request had none. */
  readonly id: string | null;
  /** The request method, e.g. `POST`. */
  readonly method: string;
  /** The request path with its query, e.g. `/v1/messages?beta=true`. */
  readonly target: string;
  /** The request headers as the hop received them (from the exporter). */
  readonly requestHeaders: Headers;
  /** The request body bytes as forwarded to Ollama. */
  readonly requestBody: Uint8Array;
  /** Ollama's status. */
  readonly status: number;
  /** Ollama's response headers, as `fetch` reports them. */
  readonly responseHeaders: Headers;
  /** The body chunks relayed so far, in order, each as Ollama's connection delivered it. */
  readonly chunks: readonly Uint8Array[];
  /** Settles once the body was relayed to its end, cancelled by the exporter, or failed. */
  readonly finished: Promise<BodyOutcome>;
  /** The whole relayed body (all chunks so far, concatenated). */
  body(): Uint8Array;
}

class Exchange implements RecordedExchange {
  readonly id: string | null;
  readonly method: string;
  readonly target: string;
  readonly requestHeaders: Headers;
  readonly requestBody: Uint8Array;
  readonly status: number;
  readonly responseHeaders: Headers;
  readonly chunks: Uint8Array[] = [];
  readonly finished: Promise<BodyOutcome>;
  #settle!: (outcome: BodyOutcome) => void;

  constructor(
    request: { id: string | null; method: string; target: string; headers: Headers },
    exchange: { body: Uint8Array; response: Response },
  ) {
    this.id = request.id;
    this.method = request.method;
    this.target = request.target;
    this.requestHeaders = request.headers;
    this.requestBody = exchange.body;
    this.status = exchange.response.status;
    this.responseHeaders = exchange.response.headers;
    this.finished = new Promise((resolve) => this.#settle = resolve);
  }

  end(outcome: BodyOutcome): void {
    this.#settle(outcome);
  }

  body(): Uint8Array {
    const whole = new Uint8Array(this.chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let offset = 0;
    for (const chunk of this.chunks) {
      whole.set(chunk, offset);
      offset += chunk.length;
    }
    return whole;
  }
}

/** A recording proxy in front of one upstream (see the module documentation). */
export class RecordingHop {
  /** The hop's base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #client: Deno.HttpClient;
  #exchanges: Exchange[] = [];
  #waiters = new Map<string, (exchange: Exchange) => void>();

  private constructor(upstream: string) {
    this.#client = Deno.createHttpClient({});
    const base = upstream.replace(/\/+$/, "");
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#relay(base, request),
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Starts a hop on a free port of 127.0.0.1 forwarding to `upstream` (a base URL). */
  static start(upstream: string): RecordingHop {
    return new RecordingHop(upstream);
  }

  /** Every exchange recorded so far, in the order their answers began. */
  get exchanges(): readonly RecordedExchange[] {
    return this.#exchanges;
  }

  /**
   * The exchange whose request carried `id`, once its body has been relayed to the end (or
   * cancelled); throws when none arrives within `options.timeoutMs` (default 10 s).
   */
  async exchange(id: string, options: { timeoutMs?: number } = {}): Promise<RecordedExchange> {
    let found = this.#exchanges.find((exchange) => exchange.id === id);
    if (found === undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        found = await new Promise<Exchange>((resolve, reject) => {
          this.#waiters.set(id, resolve);
          timer = setTimeout(
            () => reject(new Error(`The hop saw no request with ${EXCHANGE_ID_HEADER}: ${id}`)),
            options.timeoutMs ?? 10_000,
          );
        });
      } finally {
        clearTimeout(timer);
        this.#waiters.delete(id);
      }
    }
    await found.finished;
    return found;
  }

  /** Stops listening (in-flight exchanges finish first) and drops the connections to upstream. */
  async close(): Promise<void> {
    await this.#server.shutdown();
    this.#client.close();
  }

  async #relay(base: string, request: Request): Promise<Response> {
    const url = new URL(request.url);
    const target = url.pathname + url.search;
    const body = new Uint8Array(await request.arrayBuffer());
    const headers = new Headers(request.headers);
    for (const name of [...HOP_BY_HOP, "host", "content-length"]) headers.delete(name);
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    let upstream: Response;
    try {
      upstream = await fetch(base + target, {
        method: request.method,
        headers,
        body: hasBody ? body : null,
        redirect: "manual",
        client: this.#client,
      });
    } catch (error) {
      return new Response(`recording hop: cannot reach upstream: ${error}`, { status: 502 });
    }
    const exchange = new Exchange(
      {
        id: request.headers.get(EXCHANGE_ID_HEADER),
        method: request.method,
        target,
        headers: request.headers,
      },
      { body, response: upstream },
    );
    this.#exchanges.push(exchange);
    if (exchange.id !== null) this.#waiters.get(exchange.id)?.(exchange);
    const responseHeaders = new Headers(upstream.headers);
    for (const name of HOP_BY_HOP) responseHeaders.delete(name);
    if (upstream.body === null) {
      exchange.end("complete");
      return new Response(null, { status: upstream.status, headers: responseHeaders });
    }
    const reader = upstream.body.getReader();
    const cut = request.headers.get(CUT_BEFORE_HEADER);
    const lines = cut === null ? null : new LineCutter(cut);
    if (lines !== null) responseHeaders.delete("content-length"); // the body may come out shorter
    // Pull-based with no queue: a chunk is read from Ollama only when the exporter wants one.
    const relayed = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            const rest = lines?.rest();
            if (rest !== undefined && rest.length > 0) {
              exchange.chunks.push(rest);
              controller.enqueue(rest);
            }
            controller.close();
            exchange.end("complete");
            return;
          }
          const { relay, ended } = lines === null
            ? { relay: value, ended: false }
            : lines.feed(value);
          if (relay.length > 0) {
            exchange.chunks.push(relay);
            controller.enqueue(relay);
          }
          if (ended) {
            controller.close();
            exchange.end("cut");
            await reader.cancel();
          }
        } catch (error) {
          controller.error(error);
          exchange.end("error");
        }
      },
      async cancel(reason) {
        exchange.end("cancelled");
        await reader.cancel(reason);
      },
    }, { highWaterMark: 0 });
    return new Response(relayed, {
      status: upstream.status,
      statusText: upstream.statusText,
      headers: responseHeaders,
    });
  }
}

/** Relays whole lines until one contains `marker`; the bytes from that line on are dropped. */
class LineCutter {
  #marker: string;
  #pending = new Uint8Array(0);

  constructor(marker: string) {
    this.#marker = marker;
  }

  /** The complete lines `chunk` ends that may be relayed, and whether the marker was found. */
  feed(chunk: Uint8Array): { relay: Uint8Array; ended: boolean } {
    const data = new Uint8Array(this.#pending.length + chunk.length);
    data.set(this.#pending);
    data.set(chunk, this.#pending.length);
    const end = data.lastIndexOf(0x0a) + 1;
    this.#pending = data.slice(end);
    // latin1 maps each byte to one character: string indices are byte offsets.
    const text = new TextDecoder("latin1").decode(data.subarray(0, end));
    const at = text.indexOf(this.#marker);
    if (at < 0) return { relay: data.slice(0, end), ended: false };
    return { relay: data.slice(0, text.lastIndexOf("\n", at) + 1), ended: true };
  }

  /** What is left after the last line ending, once the body ended without the marker. */
  rest(): Uint8Array {
    return this.#pending;
  }
}
