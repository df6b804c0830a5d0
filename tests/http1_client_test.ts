/**
 * The upstream HTTP/1.1 client against a server whose bytes each test scripts: framing (length,
 * chunked split at every byte, close-delimited, none), reuse of kept-alive connections, a stale
 * pooled connection, interim answers, aborts, broken bodies, and the request it writes.
 */

import assert from "node:assert/strict";
import { Http1Client } from "../lib/http1/http1_client.ts";
import { BodyReadError } from "../lib/http1/upstream_response.ts";
import { type Script, ScriptedServer } from "./support/scripted_server.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

async function withServer(
  script: Script,
  body: (server: ScriptedServer, client: Http1Client) => Promise<void>,
  options: { maxIdle?: number } = {},
): Promise<void> {
  const server = new ScriptedServer(script);
  const client = new Http1Client(new URL(server.origin), options);
  try {
    await body(server, client);
  } finally {
    client.close();
    await server.close();
  }
}

const get = (client: Http1Client, target = "/") => client.request("GET", target, { headers: [] });

async function text(client: Http1Client, target = "/"): Promise<string> {
  return decoder.decode(await (await get(client, target)).bytes());
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Counts the bytes the client reads, by wrapping each connection `Deno.connect` opens until it is
 * disposed. A script that waits with {@linkcode ClientReads.until} for the client to have read
 * what it wrote, before writing the rest, makes the client read the two parts apart whatever
 * the scheduling: the rest is not on the wire yet when the read that ends the first part returns.
 */
class ClientReads implements Disposable {
  readonly #connect = Deno.connect;
  #total = 0;
  /** The running total at the end of each read: where the client's reads were cut. */
  readonly #ends = new Set<number>();
  #waiters: { count: number; resolve: () => void }[] = [];

  constructor() {
    const connect = this.#connect;
    const wrapped = async (options: Deno.ConnectOptions): Promise<Deno.TcpConn> => {
      const conn = await connect(options);
      const read = conn.read.bind(conn);
      conn.read = async (buffer: Uint8Array) => {
        const count = await read(buffer);
        if (count !== null && count > 0) this.#add(count);
        return count;
      };
      return conn;
    };
    Deno.connect = wrapped as unknown as typeof Deno.connect;
  }

  /** Bytes read so far, over every connection. */
  get total(): number {
    return this.#total;
  }

  /** Whether one of the client's reads ended exactly `count` bytes into everything read. */
  endedAt(count: number): boolean {
    return this.#ends.has(count);
  }

  /**
   * Resolves once the client has read `count` bytes in all; rejects after 5 s (a client that
   * stopped reading would otherwise hang the test).
   */
  until(count: number): Promise<void> {
    if (this.#total >= count) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(() => {
      this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done);
      reject(new Error(`the client read ${this.#total} bytes, not ${count}, within 5 s`));
    }, 5000);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    this.#waiters.push({ count, resolve: done });
    return promise;
  }

  #add(count: number): void {
    this.#total += count;
    this.#ends.add(this.#total);
    const ready = this.#waiters.filter((waiter) => waiter.count <= this.#total);
    this.#waiters = this.#waiters.filter((waiter) => waiter.count > this.#total);
    for (const waiter of ready) waiter.resolve();
  }

  /** Puts `Deno.connect` back. */
  [Symbol.dispose](): void {
    Deno.connect = this.#connect;
  }
}

/** A script that answers the n-th request with `answers[n]`. */
function inOrder(answers: readonly string[]): Script {
  let next = 0;
  return async (_request, conn) => await conn.write(answers[next++]!);
}

Deno.test("a length-delimited answer is read whole and its connection reused", async () => {
  await withServer(async (_request, conn) => {
    await conn.write(
      "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nhello",
    );
  }, async (server, client) => {
    const first = await get(client);
    assert.equal(first.status, 200);
    assert.equal(first.statusText, "OK");
    assert.deepEqual(first.headers, [["content-type", "text/plain"], ["content-length", "5"]]);
    assert.equal(first.contentLength, 5);
    assert.equal(decoder.decode(await first.bytes()), "hello");
    assert.equal(client.idleConnections, 1);
    assert.equal(await text(client), "hello");
    assert.equal(server.connections, 1);
    assert.deepEqual(server.requests.map((r) => [r.connection, r.index]), [[0, 0], [0, 1]]);
  });
});

Deno.test("a chunked answer split at every byte decodes to the same body, and the connection is reused", async () => {
  const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
    '7\r\n{"a":1}\r\nA;ext=1\r\n\n{"bb":22}\r\n0\r\nx-trailer: t\r\n\r\n';
  using reads = new ClientReads();
  let split = 0;
  let sent = 0;
  await withServer(async (_request, conn) => {
    await conn.write(wire.slice(0, split));
    // The rest is written only once the client has read up to the split: two reads, always.
    await reads.until(sent + split);
    assert.equal(reads.total, sent + split, "the client read no more than was sent");
    await conn.write(wire.slice(split));
    sent += wire.length;
  }, async (server, client) => {
    for (split = 1; split < wire.length; split++) {
      const response = await get(client);
      assert.equal(response.contentLength, undefined);
      const pieces: string[] = [];
      for (let piece = await response.read(); piece; piece = await response.read()) {
        pieces.push(decoder.decode(piece));
      }
      assert.equal(pieces.join(""), '{"a":1}\n{"bb":22}', `split at ${split}`);
      assert.ok(reads.endedAt(sent - wire.length + split), `a read ended at byte ${split}`);
    }
    assert.equal(reads.total, sent);
    assert.equal(sent, (wire.length - 1) * wire.length);
    assert.equal(server.connections, 1);
    assert.deepEqual(server.requests.length, wire.length - 1);
  });
});

Deno.test("a chunk size that is not hexadecimal fails the body and closes the connection", async () => {
  await withServer(async (_request, conn) => {
    await conn.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
  }, async (server, client) => {
    const response = await get(client);
    assert.equal(decoder.decode((await response.read())!), "hello");
    await assert.rejects(response.read(), BodyReadError, "a chunk size is not hexadecimal");
    assert.equal(client.connections, 0);
    assert.equal(await response.read(), null, "a failed body stays ended");
    await get(client).then((next) => next.cancel());
    assert.equal(server.connections, 2);
  });
});

Deno.test("a body cut short of its length fails with how much arrived", async () => {
  await withServer(async (_request, conn) => {
    await conn.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n1234");
    conn.close();
  }, async (_server, client) => {
    const response = await get(client);
    await assert.rejects(
      response.bytes(),
      new BodyReadError("the connection closed after 4 of 10 body bytes"),
    );
    const streamed = await get(client);
    assert.equal(decoder.decode((await streamed.read())!), "1234");
    await assert.rejects(streamed.read(), /closed after 4 of 10 body bytes/);
    assert.equal(client.connections, 0);
  });
});

Deno.test("a chunked body cut off before its last chunk fails", async () => {
  await withServer(async (_request, conn) => {
    await conn.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n");
    conn.close();
  }, async (_server, client) => {
    const response = await get(client);
    assert.equal(decoder.decode((await response.read())!), "abc");
    await assert.rejects(response.read(), /closed in the middle of a chunked body/);
  });
});

Deno.test("a close-delimited body is read to the end of the connection, which is not reused", async () => {
  using reads = new ClientReads();
  const head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n";
  let sent = 0;
  await withServer(async (_request, conn) => {
    await conn.write(head + "until ");
    // The body comes in two reads, the second one ended by the close.
    await reads.until(sent += head.length + "until ".length);
    await conn.write("close");
    sent += "close".length;
    conn.close();
  }, async (server, client) => {
    assert.equal(await text(client), "until close");
    assert.equal(client.connections, 0);
    assert.equal(await text(client), "until close");
    assert.equal(server.connections, 2);
    assert.equal(reads.total, sent);
    assert.ok(reads.endedAt(head.length + 6) && reads.endedAt(2 * head.length + 17));
  });
});

Deno.test("HTTP/1.0 and connection: close answers are not reused", async () => {
  await withServer(
    inOrder([
      "HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
      "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
      "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nok",
    ]),
    async (server, client) => {
      assert.equal(await text(client), "ok");
      assert.equal(client.idleConnections, 0);
      assert.equal(await text(client), "ok");
      assert.equal(client.idleConnections, 0);
      assert.equal(await text(client), "ok");
      assert.equal(client.idleConnections, 1, "HTTP/1.0 with keep-alive is kept");
      assert.equal(server.connections, 3);
    },
  );
});

Deno.test("answers without a body: HEAD, 204, 304, content-length 0", async () => {
  await withServer(
    inOrder([
      "HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n",
      "HTTP/1.1 204 No Content\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\ncontent-length: 42\r\n\r\n",
      "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
    ]),
    async (server, client) => {
      const head = await client.request("HEAD", "/blob", { headers: [] });
      assert.equal(head.hasBody, false);
      assert.equal(head.header("content-length"), "42");
      for (const status of [204, 304, 200]) {
        const response = await get(client);
        assert.equal(response.status, status);
        assert.equal(response.hasBody, false);
        assert.equal((await response.bytes()).length, 0);
      }
      assert.equal(server.connections, 1, "every one of them left the connection reusable");
    },
  );
});

Deno.test("interim 1xx answers are skipped", async () => {
  await withServer(async (_request, conn) => {
    await conn.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n");
    await conn.write("HTTP/1.1 201 Created\r\ncontent-length: 1\r\n\r\nx");
  }, async (_server, client) => {
    const response = await get(client);
    assert.equal(response.status, 201);
    assert.equal(response.header("link"), null);
    assert.equal(decoder.decode(await response.bytes()), "x");
  });
});

Deno.test("a pooled connection the server closes leaves the pool at once; the next request opens another", async () => {
  await withServer(async (_request, conn) => {
    // Answers as if keeping the connection, then closes it: the pooled connection is stale.
    await conn.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    conn.close();
  }, async (server, client) => {
    assert.equal(await text(client), "ok");
    await delay(20);
    assert.equal(client.idleConnections, 0, "the idle watch saw the end of the stream");
    assert.equal(client.connections, 0);
    const posted = await client.request("POST", "/api/generate", {
      headers: [["content-type", "application/json"]],
      body: encoder.encode('{"model":"m"}'),
    });
    assert.equal(decoder.decode(await posted.bytes()), "ok");
    assert.equal(server.connections, 2);
    assert.equal(server.requests.length, 2);
    assert.equal(decoder.decode(server.requests[1]!.body), '{"model":"m"}');
  });
});

Deno.test("a server that answers nothing fails the request with why", async () => {
  await withServer((_request, conn) => {
    conn.close();
    return Promise.resolve();
  }, async (_server, client) => {
    await assert.rejects(get(client), /the connection closed before an answer came/);
    assert.equal(client.connections, 0);
  });
});

Deno.test("garbage instead of a status line fails the request", async () => {
  await withServer(async (_request, conn) => {
    await conn.write("SSH-2.0-OpenSSH_9.6\r\n\r\n");
  }, async (_server, client) => {
    await assert.rejects(get(client), /Cannot parse Ollama's response: bad status line/);
  });
});

Deno.test("an abort before the head arrives rejects with the reason and closes the connection", async () => {
  await withServer(async (_request, conn) => {
    await delay(200);
    await conn.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").catch(() => {});
  }, async (_server, client) => {
    const abort = new AbortController();
    const pending = client.request("GET", "/slow", { headers: [], signal: abort.signal });
    await delay(20);
    abort.abort(new Error("client left"));
    await assert.rejects(pending, /client left/);
    assert.equal(client.connections, 0);
  });
});

Deno.test("the request: host first, headers as given, byte-string values, lengths and chunked bodies", async () => {
  await withServer(async (_request, conn) => {
    await conn.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
  }, async (server, client) => {
    const posted = await client.request("POST", "/api/chat?x=1", {
      headers: [["content-type", "application/json"], ["x-note", "caf\u00e9"]],
      body: encoder.encode("{}"),
    });
    await posted.bytes();
    const head = server.requests[0]!.head;
    const port = new URL(server.origin).port;
    assert.equal(
      head,
      `POST /api/chat?x=1 HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
        "x-note: caf\u00e9\r\ncontent-length: 2\r\n\r\n".replace("\u00e9", "\ufffd"),
      "the value's byte 0xE9 went out as one byte (decoded here as UTF-8, hence U+FFFD)",
    );
    const stream = ReadableStream.from([encoder.encode("ab"), encoder.encode("cde")]);
    const chunked = await client.request("PUT", "/upload", { headers: [], body: stream });
    await chunked.bytes();
    assert.match(server.requests[1]!.head, /\r\ntransfer-encoding: chunked\r\n/);
    assert.equal(decoder.decode(server.requests[1]!.body), "abcde");
    const sized = await client.request("PUT", "/upload", {
      headers: [],
      body: ReadableStream.from([encoder.encode("xyz")]),
      contentLength: 3,
    });
    await sized.bytes();
    assert.match(server.requests[2]!.head, /\r\ncontent-length: 3\r\n/);
    assert.equal(decoder.decode(server.requests[2]!.body), "xyz");
  });
});

Deno.test("a header value with bytes above 0x7F arrives as a byte string", async () => {
  await withServer(async (_request, conn) => {
    await conn.write(
      new Uint8Array([
        ...encoder.encode("HTTP/1.1 200 OK\r\nx-name: caf"),
        0xe9,
        ...encoder.encode("\r\ncontent-length: 0\r\n\r\n"),
      ]),
    );
  }, async (_server, client) => {
    const response = await get(client);
    assert.equal(response.header("x-name"), "caf\u00e9");
    assert.deepEqual(new Headers(response.headers).get("x-name"), "caf\u00e9");
  });
});

Deno.test("at most maxIdle connections wait in the pool; close() closes them", async () => {
  await withServer(async (_request, conn) => {
    await delay(10);
    await conn.write("HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n.");
  }, async (server, client) => {
    const answers = await Promise.all([get(client), get(client), get(client)]);
    assert.equal(client.connections, 3);
    await Promise.all(answers.map((answer) => answer.bytes()));
    assert.equal(client.idleConnections, 2);
    assert.equal(client.connections, 2);
    assert.equal(server.connections, 3);
    client.close();
    assert.equal(client.connections, 0);
    await assert.rejects(get(client), /the upstream client is closed/);
  }, { maxIdle: 2 });
});

Deno.test("a body abandoned part-way closes its connection", async () => {
  await withServer(async (_request, conn) => {
    await conn.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n");
  }, async (_server, client) => {
    const response = await get(client);
    assert.equal(decoder.decode((await response.read())!), "abc");
    response.cancel();
    assert.equal(client.connections, 0);
    assert.equal(await response.read(), null, "a cancelled body reads as ended");
  });
});

Deno.test("a connection that is refused fails with the system's reason", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const client = new Http1Client(new URL(`http://127.0.0.1:${port}`));
  try {
    await assert.rejects(get(client), Deno.errors.ConnectionRefused);
  } finally {
    client.close();
  }
});
