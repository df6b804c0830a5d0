/**
 * The scripted server the upstream tests stand in for Ollama with: a script that throws fails
 * the test through `close()`, while a client that goes away (a write that fails, a request cut
 * short) does not.
 */

import assert from "node:assert/strict";
import { ScriptedServer } from "./support/scripted_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Opens a connection to `server`. */
const connect = (server: ScriptedServer) =>
  Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(server.origin).port) });

/** Sends `request` on a fresh connection and reads until the server closes it. */
async function exchange(server: ScriptedServer, request: string): Promise<string> {
  const conn = await connect(server);
  try {
    await conn.write(encoder.encode(request));
    const pieces: Uint8Array[] = [];
    const buffer = new Uint8Array(4096);
    for (;;) {
      const count = await conn.read(buffer).catch(() => null);
      if (count === null) break;
      pieces.push(buffer.slice(0, count));
    }
    return pieces.map((piece) => decoder.decode(piece, { stream: true })).join("");
  } finally {
    conn.close();
  }
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`;

Deno.test("a script that throws makes close() reject with that very error", async () => {
  const failure = new Error("the script's own assertion failed");
  const server = new ScriptedServer(async (_request, conn) => {
    await conn.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    throw failure;
  });
  assert.equal(await exchange(server, GET("/a")), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  await assert.rejects(server.close(), (error) => error === failure);
  assert.deepEqual(server.requests.map((r) => [r.connection, r.index]), [[0, 0]]);
});

Deno.test("an assertion in a script surfaces as the test's failure, the first one only", async () => {
  const server = new ScriptedServer((request) => {
    assert.equal(request.head.split(" ")[1], "/expected");
    return Promise.resolve();
  });
  assert.equal(await exchange(server, GET("/first")), "", "the connection is closed unanswered");
  assert.equal(await exchange(server, GET("/second")), "");
  await assert.rejects(server.close(), (error) => {
    assert.ok(error instanceof assert.AssertionError);
    assert.equal(error.actual, "/first");
    assert.equal(error.expected, "/expected");
    return true;
  });
  assert.equal(server.connections, 2);
});

Deno.test("a headOnly predicate that throws surfaces too", async () => {
  const server = new ScriptedServer(() => Promise.resolve(), {
    headOnly: () => {
      throw new TypeError("predicate broke");
    },
  });
  assert.equal(await exchange(server, GET("/")), "");
  await assert.rejects(server.close(), new TypeError("predicate broke"));
  assert.equal(server.requests.length, 0);
});

Deno.test("a write that fails because the client left is not an error", async () => {
  const { promise: failed, resolve: writeFailed } = Promise.withResolvers<unknown>();
  const server = new ScriptedServer(async (_request, conn) => {
    const piece = new Uint8Array(64 * 1024);
    try {
      // The client is gone: the kernel takes a little, then the writes fail.
      for (;;) await conn.write(piece);
    } catch (error) {
      writeFailed(error);
      throw error;
    }
  });
  const conn = await connect(server);
  await conn.write(encoder.encode(GET("/")));
  await conn.read(new Uint8Array(1));
  conn.close();
  const error = await failed;
  assert.ok(
    error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset,
    `the write failed with ${error}`,
  );
  await server.close();
  assert.equal(server.requests.length, 1);
});

Deno.test("a request cut short by the client is not recorded and is not an error", async () => {
  let answered = 0;
  const server = new ScriptedServer(() => Promise.resolve(void answered++));
  const body = "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n1234";
  const conn = await connect(server);
  await conn.write(encoder.encode(body));
  await conn.closeWrite();
  assert.equal(await conn.read(new Uint8Array(16)), null, "the server closes its end");
  conn.close();
  await server.close();
  assert.equal(answered, 0);
  assert.equal(server.requests.length, 0);
});

Deno.test("a script still writing when the server is closed ends quietly", async () => {
  const { promise: started, resolve: start } = Promise.withResolvers<void>();
  const server = new ScriptedServer(async (_request, conn) => {
    await conn.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
    start();
    for (;;) {
      await conn.write("1\r\nx\r\n");
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  });
  const conn = await connect(server);
  await conn.write(encoder.encode(GET("/")));
  await started;
  await server.close();
  conn.close();
  assert.equal(server.requests.length, 1);
});
