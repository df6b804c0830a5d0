/**
 * Test helper: a local OTLP/HTTP receiver of spans on 127.0.0.1, for a program under test whose
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is {@linkcode OtlpTraceListener.tracesEndpoint} (or whose
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is its {@linkcode OtlpTraceListener.url}).
 *
 * `POST /v1/traces` bodies are decoded with the official `.proto` files (see `otlp_proto.ts`) and
 * their spans collected; `POST /v1/metrics` and `/v1/logs` are accepted and kept as bytes only.
 * Every accepted request is answered 200 with an empty protobuf body (an empty
 * `Export*ServiceResponse`). A body that cannot be decoded (e.g. OTLP/JSON, which this listener
 * does not read) is answered 415 or 400 and recorded: {@linkcode OtlpTraceListener.waitFor} then
 * throws with it rather than waiting for spans that will never come.
 *
 * @module
 */

import { type DecodedSpan, decodeTraceRequest } from "./otlp_proto.ts";

/** The OTLP/HTTP paths the listener accepts. */
const PATHS = new Set(["/v1/traces", "/v1/metrics", "/v1/logs"]);

/** One request body as received (after undoing a `gzip` content encoding). */
export interface ReceivedBody {
  /** `/v1/traces`, `/v1/metrics` or `/v1/logs`. */
  readonly path: string;
  /** The `content-type` without parameters, e.g. `application/x-protobuf`. */
  readonly contentType: string;
  /** The body's bytes. */
  readonly bytes: Uint8Array;
}

/** A running OTLP/HTTP listener. Start with {@link OtlpTraceListener.start}; always close it. */
export class OtlpTraceListener {
  #server: Deno.HttpServer<Deno.NetAddr>;
  #url: string;
  #spans: DecodedSpan[] = [];
  #bodies: ReceivedBody[] = [];
  #errors: string[] = [];
  #changed: (() => void)[] = [];
  #closed: Promise<void> | undefined;

  private constructor(port: number) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.#url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /**
   * Starts listening on 127.0.0.1 (`port`, or a free one when 0 or omitted). Throws when the
   * port cannot be bound.
   */
  static start(options: { port?: number } = {}): Promise<OtlpTraceListener> {
    try {
      return Promise.resolve(new OtlpTraceListener(options.port ?? 0));
    } catch (error) {
      return Promise.reject(
        new Error(
          `Cannot start the OTLP listener on 127.0.0.1:${options.port ?? 0}: ` +
            (error instanceof Error ? error.message : String(error)),
          { cause: error },
        ),
      );
    }
  }

  /** Base URL, e.g. `http://127.0.0.1:43125` (no trailing slash): `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  get url(): string {
    return this.#url;
  }

  /** `<url>/v1/traces`: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`. */
  get tracesEndpoint(): string {
    return `${this.#url}/v1/traces`;
  }

  /** The spans received so far, in arrival order. */
  spans(): DecodedSpan[] {
    return [...this.#spans];
  }

  /**
   * The bytes of every body received so far on any path, in arrival order (uncompressed), e.g.
   * to assert that a text was never sent.
   */
  rawBodies(): Uint8Array[] {
    return this.#bodies.map((body) => body.bytes);
  }

  /** Every body received so far with its path and content type, in arrival order. */
  bodies(): ReceivedBody[] {
    return [...this.#bodies];
  }

  /** Why the bodies that could not be decoded were refused, in arrival order. */
  errors(): string[] {
    return [...this.#errors];
  }

  /**
   * Waits until `predicate` holds for the spans received so far, and returns them. Throws when a
   * body could not be decoded, or after `timeoutMs` (listing the spans that were seen).
   */
  async waitFor(
    predicate: (spans: readonly DecodedSpan[]) => boolean,
    options: { timeoutMs: number },
  ): Promise<DecodedSpan[]> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      if (this.#errors.length > 0) {
        throw new Error(
          `The OTLP listener refused ${this.#errors.length} body(ies): ${this.#errors.join("; ")}`,
        );
      }
      const spans = this.spans();
      if (predicate(spans)) return spans;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out after ${options.timeoutMs} ms waiting for spans at ${this.tracesEndpoint}; ` +
            `received ${this.#bodies.length} body(ies) and ${spans.length} span(s)` +
            (spans.length === 0 ? "" : `: ${spans.map(describe).join(", ")}`),
        );
      }
      await this.#nextChange(left);
    }
  }

  /** Stops listening (idempotent); waits for the requests in flight to be answered. */
  close(): Promise<void> {
    this.#closed ??= this.#server.shutdown().then(() => this.#server.finished);
    return this.#closed;
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Resolves when another body arrives, or after `ms`. */
  async #nextChange(ms: number): Promise<void> {
    let id: ReturnType<typeof setTimeout> | undefined;
    let wake: (() => void) | undefined;
    await new Promise<void>((resolve) => {
      wake = resolve;
      this.#changed.push(resolve);
      id = setTimeout(resolve, ms);
    });
    clearTimeout(id);
    this.#changed = this.#changed.filter((waiter) => waiter !== wake);
  }

  async #handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (!PATHS.has(path)) return new Response(`no ${path} here\n`, { status: 404 });
    if (request.method !== "POST") {
      return new Response("POST only\n", { status: 405, headers: { allow: "POST" } });
    }
    const contentType = (request.headers.get("content-type") ?? "").split(";")[0]!.trim();
    let bytes: Uint8Array;
    try {
      bytes = await readBody(request);
    } catch (error) {
      return this.#refuse(400, `${path}: cannot read the body: ${message(error)}`);
    }
    this.#bodies.push({ path, contentType, bytes });
    try {
      if (contentType !== "application/x-protobuf") {
        return this.#refuse(
          415,
          `${path}: content-type "${contentType}" is not application/x-protobuf (this listener ` +
            "decodes OTLP protobuf only; set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)",
        );
      }
      if (path === "/v1/traces") {
        try {
          this.#spans.push(...decodeTraceRequest(bytes).spans);
        } catch (error) {
          return this.#refuse(400, `${path}: ${message(error)}`);
        }
      }
      return new Response(new Uint8Array(0), {
        headers: { "content-type": "application/x-protobuf" },
      });
    } finally {
      for (const wake of this.#changed) wake();
    }
  }

  #refuse(status: number, reason: string): Response {
    this.#errors.push(reason);
    return new Response(reason + "\n", { status });
  }
}

async function readBody(request: Request): Promise<Uint8Array> {
  const encoding = (request.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding === "identity" || encoding === "") return await request.bytes();
  if (encoding !== "gzip") throw new Error(`unsupported content-encoding "${encoding}"`);
  const stream = request.body?.pipeThrough(new DecompressionStream("gzip"));
  return stream === undefined ? new Uint8Array(0) : await new Response(stream).bytes();
}

function describe(span: DecodedSpan): string {
  return `"${span.name}" (${span.spanId}${span.parentSpanId ? ` < ${span.parentSpanId}` : ""})`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
