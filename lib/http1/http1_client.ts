/**
 * A small HTTP/1.1 client for the one server the proxy talks to, with a pool of kept-alive
 * connections. It exists because `fetch` costs more JavaScript per request than everything else
 * the proxy does together (a `Request`, a `Headers` copy and an abort signal per call, a
 * `Response` and a body stream per answer): here a request is one write of bytes built once, and
 * the answer a head parsed from the connection's buffer, with the body read on demand.
 *
 * @module
 */

import type { HeaderPairs } from "./header_pairs.ts";
import { encodeRequestHead, findHeadEnd, parseResponseHead } from "./http1_head.ts";
import { type ConnectionTarget, UpstreamConnection } from "./upstream_connection.ts";
import { UpstreamResponse } from "./upstream_response.ts";

/** Largest response head accepted. */
const MAX_HEAD = 64 * 1024;
/** Request bodies up to this size are written together with the head, in one write. */
const JOINED_WRITE = 64 * 1024;
const encoder = new TextEncoder();
/** The end of a chunked request body (no trailers). */
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

/** What one request carries. */
export interface Http1RequestOptions {
  /** Header fields to send (no `host`, framing or hop-by-hop fields: the client adds its own). */
  readonly headers: HeaderPairs;
  /** The body: bytes, a stream (sent with `contentLength` when given, else chunked), or none. */
  readonly body?: Uint8Array | ReadableStream<Uint8Array> | null;
  /** The length of a stream body, when the client announced one. */
  readonly contentLength?: number;
  /** Aborts the request until the response head has arrived (the connection is closed). */
  readonly signal?: AbortSignal;
}

/** Time limits of the client, in milliseconds; 0 or absent means no limit. */
export interface Http1Timeouts {
  /** To open a connection. */
  readonly connectMs?: number;
  /** From the end of writing the request head to the end of the response head. */
  readonly headMs?: number;
  /** Between two reads of the response body. */
  readonly idleMs?: number;
}

/** Sends requests to one origin over pooled HTTP/1.1 connections. */
export class Http1Client {
  #target: ConnectionTarget;
  #host: string;
  #idle: UpstreamConnection[] = [];
  #live = new Set<UpstreamConnection>();
  #maxIdle: number;
  #closed = false;
  #release = (connection: UpstreamConnection) => this.#keep(connection);
  #forget = (connection: UpstreamConnection) => this.#drop(connection);

  /**
   * @param origin `http:` or `https:` origin of the server.
   * @param options `maxIdle` bounds the connections kept open between requests (default 64).
   */
  constructor(origin: URL, options: { maxIdle?: number; timeouts?: Http1Timeouts } = {}) {
    const tls = origin.protocol === "https:";
    this.#target = {
      hostname: origin.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: origin.port === "" ? (tls ? 443 : 80) : Number(origin.port),
      tls,
    };
    this.#host = origin.host;
    this.#maxIdle = options.maxIdle ?? 64;
  }

  /** Open connections, idle or busy. */
  get connections(): number {
    return this.#live.size;
  }

  /** Connections waiting in the pool for the next request. */
  get idleConnections(): number {
    return this.#idle.length;
  }

  /**
   * Sends `method target` and resolves with the response once its head has arrived. A kept-alive
   * connection that turns out to be closed before any byte of the answer came back is replaced
   * by a fresh one, once, when the body can be sent again. Throws what connecting, writing or
   * reading threw, or the signal's reason when it fired first.
   */
  async request(
    method: string,
    target: string,
    options: Http1RequestOptions,
  ): Promise<UpstreamResponse> {
    if (this.#closed) throw new Error("the upstream client is closed");
    const body = options.body ?? null;
    const replayable = !(body instanceof ReadableStream);
    const head = this.#head(method, target, options);
    const signal = options.signal;
    for (let attempt = 0;; attempt++) {
      signal?.throwIfAborted();
      const pooled = replayable && attempt === 0 ? this.#idle.pop() : undefined;
      const connection = pooled ??
        await UpstreamConnection.open(this.#target, { onClose: this.#forget });
      this.#live.add(connection);
      connection.resetReadCount();
      const onAbort = () => connection.close();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        if (signal?.aborted) throw signal.reason;
        await this.#send(connection, head, options);
        return new UpstreamResponse(connection, await readHead(connection, method), {
          release: this.#release,
        });
      } catch (error) {
        connection.close();
        if (signal?.aborted) throw signal.reason;
        // A kept-alive connection the server had closed: nothing was answered, so nothing ran.
        if (pooled && connection.bytesRead === 0) continue;
        throw error;
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    }
  }

  /** Closes every connection, idle or busy; later requests fail. */
  close(): void {
    this.#closed = true;
    for (const connection of [...this.#live]) connection.close();
    this.#idle = [];
  }

  #head(method: string, target: string, options: Http1RequestOptions): Uint8Array {
    const headers: HeaderPairs = [["host", this.#host], ...options.headers];
    const body = options.body ?? null;
    if (body instanceof Uint8Array) {
      if (body.length > 0 || method !== "GET" && method !== "HEAD") {
        headers.push(["content-length", String(body.length)]);
      }
    } else if (body !== null) {
      headers.push(
        options.contentLength !== undefined
          ? ["content-length", String(options.contentLength)]
          : ["transfer-encoding", "chunked"],
      );
    }
    return encodeRequestHead(`${method} ${target} HTTP/1.1`, headers);
  }

  async #send(
    connection: UpstreamConnection,
    head: Uint8Array,
    options: Http1RequestOptions,
  ): Promise<void> {
    const body = options.body ?? null;
    if (body === null) return await connection.write(head);
    if (body instanceof Uint8Array) {
      if (head.length + body.length > JOINED_WRITE) {
        await connection.write(head);
        return await connection.write(body);
      }
      const joined = new Uint8Array(head.length + body.length);
      joined.set(head);
      joined.set(body, head.length);
      return await connection.write(joined);
    }
    await connection.write(head);
    const chunked = options.contentLength === undefined;
    for await (const chunk of body) {
      if (chunk.length === 0) continue;
      if (!chunked) {
        await connection.write(chunk);
        continue;
      }
      const size = encoder.encode(`${chunk.length.toString(16)}\r\n`);
      const framed = new Uint8Array(size.length + chunk.length + 2);
      framed.set(size);
      framed.set(chunk, size.length);
      framed.set([0x0d, 0x0a], size.length + chunk.length);
      await connection.write(framed);
    }
    if (chunked) await connection.write(LAST_CHUNK);
  }

  #keep(connection: UpstreamConnection): void {
    if (this.#closed || this.#idle.length >= this.#maxIdle) {
      connection.close();
      return;
    }
    this.#idle.push(connection);
  }

  #drop(connection: UpstreamConnection): void {
    this.#live.delete(connection);
    const index = this.#idle.indexOf(connection);
    if (index !== -1) this.#idle.splice(index, 1);
  }
}

/** Reads response heads until a final one (1xx interim answers are skipped). */
async function readHead(connection: UpstreamConnection, method: string) {
  for (;;) {
    let end = findHeadEnd(connection.view());
    while (end === -1) {
      if (connection.buffered >= MAX_HEAD) {
        throw new Error(`the response head is larger than ${MAX_HEAD} bytes`);
      }
      if (!await connection.fill(MAX_HEAD)) {
        throw new Error(
          connection.bytesRead === 0
            ? "the connection closed before an answer came"
            : "the connection closed in the middle of the response head",
        );
      }
      end = findHeadEnd(connection.view());
    }
    const head = parseResponseHead(connection.view().subarray(0, end), { method });
    connection.consume(end);
    if (head.status >= 100 && head.status < 200) {
      if (head.status === 101) throw new Error("Ollama switched protocols, which is not proxied");
      continue;
    }
    return head;
  }
}
