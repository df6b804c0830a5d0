/**
 * A client that leaves mid-stream is one structured log line (`proxied ... error=
 * client_disconnect`), never a stack trace: `Deno.serve` prints any error a response body stream
 * ends with, so a tap whose upstream read was stopped by the client leaving closes quietly.
 */
import assert from "node:assert/strict";
import { type BodyObserver, type ChunkSource, tapBody } from "../lib/streams/tap_body.ts";
import { OllamaSimulator } from "./support/ollama_simulator.ts";
import { ExporterProcess, START_FLAGS } from "./support/exporter_process.ts";

/** A source that hands out one chunk, then fails its next read with `error`. */
function failingSource(error: unknown): ChunkSource & { cancelled: number } {
  let reads = 0;
  return {
    cancelled: 0,
    read() {
      reads++;
      return reads === 1 ? Promise.resolve(new Uint8Array([1])) : Promise.reject(error);
    },
    cancel() {
      this.cancelled++;
    },
  };
}

function recorder(): BodyObserver & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    chunk: (bytes) => void events.push(`chunk ${bytes.length}`),
    end: () => void events.push("end"),
    abort: (reason, _now, { byClient }) =>
      void events.push(`abort ${(reason as Error).name} byClient=${byClient}`),
  };
}

Deno.test("tapBody: a read stopped by the client leaving closes the stream, by client", async () => {
  const observer = recorder();
  const gone = new DOMException("The request has been cancelled.", "AbortError");
  const reader = tapBody(failingSource(gone), observer).getReader();
  assert.deepEqual(await reader.read(), { done: false, value: new Uint8Array([1]) });
  assert.deepEqual(await reader.read(), { done: true, value: undefined }, "closed, not errored");
  assert.deepEqual(observer.events, ["chunk 1", "abort AbortError byClient=true"]);
});

Deno.test("tapBody: any other failed read still errors the stream (the client sees it cut)", async () => {
  const observer = recorder();
  const broken = new Error("the connection closed in the middle of a chunked body");
  const reader = tapBody(failingSource(broken), observer).getReader();
  await reader.read();
  await assert.rejects(reader.read(), broken);
  assert.deepEqual(observer.events, ["chunk 1", "abort Error byClient=false"]);
});

Deno.test("tapBody: a read that fails after Deno.serve cancelled the stream is ignored", async () => {
  const observer = recorder();
  let fail!: (error: unknown) => void;
  let reads = 0;
  const source: ChunkSource = {
    read: () =>
      ++reads === 1
        ? Promise.resolve(new Uint8Array([1]))
        : new Promise((_, reject) => (fail = reject)),
    cancel: () => fail(new DOMException("gone", "AbortError")),
  };
  const reader = tapBody(source, observer).getReader();
  await reader.read();
  const pending = reader.read();
  await new Promise((resolve) => setTimeout(resolve, 0));
  await reader.cancel("resource closed");
  assert.deepEqual(await pending, { done: true, value: undefined });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(observer.events, ["chunk 1", "abort undefined byClient=true"]);
});

/**
 * Sends a streaming request on a raw socket and leaves after about `bytes` of the answer or
 * `ms` milliseconds, whichever comes first (mid-read, as a client that is killed does).
 */
async function leaveMidStream(
  port: number,
  path: string,
  payload: unknown,
  options: { bytes: number; ms: number },
) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const body = JSON.stringify(payload);
  await conn.write(
    new TextEncoder().encode(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    ),
  );
  let closed = false;
  const close = () => {
    if (!closed) conn.close();
    closed = true;
  };
  const timer = setTimeout(close, options.ms);
  const buffer = new Uint8Array(512);
  let got = 0;
  try {
    while (got < options.bytes) {
      const n = await conn.read(buffer);
      if (n === null) break;
      got += n;
    }
  } catch {
    // Closed by the timer.
  } finally {
    clearTimeout(timer);
    close();
  }
}

Deno.test("disconnects mid-stream: one proxied line each on stderr, no stack trace", async () => {
  const simulator = await OllamaSimulator.start({ tokenDelayMs: 1 });
  try {
    const process = await ExporterProcess.start(["run", ...START_FLAGS, "main.ts"], {
      env: { OLLAMA_HOST: simulator.url, SHUTDOWN_GRACE_SECONDS: "5" },
    });
    const port = Number(new URL(process.url).port);
    const requests: [string, unknown][] = [
      ["/api/chat", {
        model: "llama3.2",
        messages: [{ role: "user", content: "a long story" }],
        options: { num_predict: 500 },
      }],
      ["/api/generate", {
        model: "llama3.2",
        prompt: "a long story",
        options: { num_predict: 500 },
      }],
      ["/v1/chat/completions", {
        model: "llama3.2",
        stream: true,
        messages: [{ role: "user", content: "a long story" }],
        max_tokens: 500,
      }],
    ];
    // Many at once: the client's leaving races with the upstream read the tap is waiting on.
    const total = 300;
    for (let round = 0; round < total / 30; round++) {
      await Promise.all(Array.from({ length: 30 }, (_, i) => {
        const [path, payload] = requests[i % requests.length]!;
        return leaveMidStream(port, path, payload, {
          bytes: 300 + (i * 97) % 2000,
          ms: 5 + (i * 7) % 30,
        });
      }));
    }
    while (simulator.requests.some((r) => !r.aborted && r.bytesSent < 1)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill("SIGTERM");
    const { code, stderr } = await process.exit();
    assert.equal(code, 0);
    const lines = stderr.trimEnd().split("\n");
    const proxied = lines.filter((line) => / INFO {2}proxied /.test(line));
    assert.equal(proxied.length, total);
    for (const line of proxied) assert.match(line, / error=client_disconnect$/);
    const others = lines.filter((line) => !/ INFO {2}proxied /.test(line));
    assert.deepEqual(
      others.map((line) => line.replace(/^\S+ /, "").replace(/ .*/, "")),
      ["INFO", "INFO", "INFO", "INFO"],
      `nothing but start-up, shutdown and proxied lines:\n${others.join("\n").slice(0, 3000)}`,
    );
  } finally {
    await simulator.close();
  }
});
