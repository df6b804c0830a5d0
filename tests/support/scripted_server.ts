/**
 * A TCP server on 127.0.0.1 that answers HTTP/1.1 requests with bytes a test scripts exactly:
 * broken framing, interim answers, a close at any point. It reads each request (head and body,
 * by `Content-Length` or chunked) and records it with the connection it came on.
 *
 * A script that throws fails the test: the server records the first error a script (or the
 * `headOnly` predicate) throws, and {@linkcode ScriptedServer.close} rethrows it once everything
 * is closed. Only the connection going away is not an error: a write that fails because the
 * client left (or the server was closed) rejects the script's `write`, and if the script lets
 * that rejection through, the connection just ends.
 *
 * @module
 */

/** One request as the server received it. */
export interface ScriptedRequest {
  /** Which accepted connection it came on (0, 1, ...). */
  readonly connection: number;
  /** Its position on that connection (0 for the first request). */
  readonly index: number;
  /** The head, request line through the blank line, as text. */
  readonly head: string;
  /** The body, de-chunked. */
  readonly body: Uint8Array;
}

/** The connection a request came on, as the script sees it. */
export interface ScriptedConnection {
  /**
   * Writes every byte of `bytes`. Rejects when the connection is gone (the client left, the
   * script or the server closed it); a script that lets that rejection through ends quietly.
   */
  write(bytes: string | Uint8Array): Promise<void>;
  /** Closes the connection. */
  close(): void;
  /**
   * Reads and discards whatever the client sends until it closes the connection (or the server
   * is closed): a server that stalls without answering, for as long as the client waits.
   */
  waitClosed(): Promise<void>;
}

/**
 * What the script does with one request: write to the connection, close it, or both. Whatever it
 * throws, other than a failed write on a connection that is gone, makes
 * {@linkcode ScriptedServer.close} reject with that error.
 */
export type Script = (request: ScriptedRequest, connection: ScriptedConnection) => Promise<void>;

/** Options of {@linkcode ScriptedServer}. */
export interface ScriptedServerOptions {
  /**
   * Whether to read only the head of the requests `headOnly` returns true for (all when `true`):
   * such a request is recorded with an empty body and its body bytes stay unread on the
   * connection, which is closed once the script returns (a server answering early, before the
   * body, as with a 413).
   */
  readonly headOnly?: boolean | ((head: string) => boolean);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The client closed the connection in the middle of a request. */
class ClientGone extends Error {}

/** A scripted HTTP/1.1 server. */
export class ScriptedServer {
  /** Every request received, in order. */
  readonly requests: ScriptedRequest[] = [];
  #listener: Deno.TcpListener;
  #conns = new Set<Deno.Conn>();
  #tasks: Promise<void>[] = [];
  #accepting: Promise<void>;
  #connections = 0;
  /** The first error a script threw, rethrown by `close()`. */
  #failure: { readonly error: unknown } | undefined;
  /** Errors of writes on a connection that is gone: the client left, not a script failure. */
  #gone = new WeakSet<object>();

  #headOnly: (head: string) => boolean;

  /** Starts listening on a free port; `script` answers each request. */
  constructor(script: Script, options: ScriptedServerOptions = {}) {
    const headOnly = options.headOnly ?? false;
    this.#headOnly = typeof headOnly === "function" ? headOnly : () => headOnly;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept(script);
  }

  /** `http://127.0.0.1:PORT`. */
  get origin(): string {
    return `http://127.0.0.1:${this.#listener.addr.port}`;
  }

  /** How many connections were accepted. */
  get connections(): number {
    return this.#connections;
  }

  /**
   * Stops listening, closes every connection and waits for the handlers; then rejects with the
   * first error a script threw, if one did.
   */
  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // Closed by the script.
      }
    }
    await this.#accepting;
    await Promise.allSettled(this.#tasks);
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  async #accept(script: Script): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      conn.setNoDelay(true);
      this.#conns.add(conn);
      this.#tasks.push(this.#serve(conn, this.#connections++, script));
    }
  }

  async #serve(conn: Deno.Conn, id: number, script: Script): Promise<void> {
    let buffered: Uint8Array = new Uint8Array(0);
    let closed = false;
    const handle: ScriptedConnection = {
      write: async (bytes: string | Uint8Array) => {
        const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
        let written = 0;
        try {
          while (written < data.length) written += await conn.write(data.subarray(written));
        } catch (error) {
          if (typeof error === "object" && error !== null) this.#gone.add(error);
          throw error;
        }
      },
      close: () => {
        closed = true;
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      },
      waitClosed: async () => {
        buffered = new Uint8Array(0);
        const sink = new Uint8Array(64 * 1024);
        while (await conn.read(sink).catch(() => null) !== null) {
          // Discarded.
        }
      },
    };
    const more = async (): Promise<boolean> => {
      const chunk = new Uint8Array(64 * 1024);
      const count = await conn.read(chunk).catch(() => null);
      if (count === null) return false;
      const joined = new Uint8Array(buffered.length + count);
      joined.set(buffered);
      joined.set(chunk.subarray(0, count), buffered.length);
      buffered = joined;
      return true;
    };
    try {
      for (let index = 0; !closed; index++) {
        let end = decoder.decode(buffered).indexOf("\r\n\r\n");
        while (end === -1) {
          if (!await more()) return;
          end = decoder.decode(buffered).indexOf("\r\n\r\n");
        }
        const head = decoder.decode(buffered.subarray(0, end + 4));
        buffered = buffered.subarray(end + 4);
        const headOnly = this.#headOnly(head);
        const body = headOnly
          ? new Uint8Array(0)
          : await this.#readBody(head, () => buffered, (rest) => buffered = rest, more);
        const request = { connection: id, index, head, body };
        this.requests.push(request);
        await script(request, handle);
        if (headOnly) break;
      }
    } catch (error) {
      // The client went away (a request cut short, a write to a closed connection): the test
      // looks at what was recorded. Anything else is the script's failure, and the test's.
      if (!(error instanceof ClientGone) && !this.#gone.has(error as object)) {
        this.#failure ??= { error };
      }
    } finally {
      this.#conns.delete(conn);
      handle.close();
    }
  }

  async #readBody(
    head: string,
    get: () => Uint8Array,
    set: (rest: Uint8Array) => void,
    more: () => Promise<boolean>,
  ): Promise<Uint8Array> {
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length) {
      const size = Number(length[1]);
      while (get().length < size) if (!await more()) throw new ClientGone("short request body");
      const body = get().slice(0, size);
      set(get().subarray(size));
      return body;
    }
    if (!/\r\ntransfer-encoding: *chunked/i.test(head)) return new Uint8Array(0);
    const pieces: number[] = [];
    for (;;) {
      let lf = get().indexOf(0x0a);
      while (lf === -1) {
        if (!await more()) throw new ClientGone("short chunked body");
        lf = get().indexOf(0x0a);
      }
      const size = parseInt(decoder.decode(get().subarray(0, lf)).trim(), 16);
      set(get().subarray(lf + 1));
      while (get().length < size + 2) if (!await more()) throw new ClientGone("short chunk");
      pieces.push(...get().subarray(0, size));
      set(get().subarray(size + 2));
      if (size === 0) return new Uint8Array(pieces);
    }
  }
}
