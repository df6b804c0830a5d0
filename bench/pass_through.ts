/**
 * The floor any Deno proxy stands on, for comparison with the exporter: `bare` forwards the
 * request with `fetch` and answers `new Response(upstream.body, {status, headers})`; `tap` does
 * the same with the body piped through an empty `TransformStream` (what any JavaScript
 * observation of the bytes costs at the least).
 *
 * Run: `deno run --allow-net bench/pass_through.ts --mode bare --port 8001
 * --upstream http://127.0.0.1:11434` (`--watch-stdin` exits when standard input closes).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { serveFromCli } from "./serve_cli.ts";

/** The two pass-through variants. */
export type PassThroughMode = "bare" | "tap";

/** Creates the handler of a minimal pass-through proxy to `upstream` (an origin URL). */
export function passThroughHandler(
  upstream: string,
  mode: PassThroughMode,
): (request: Request) => Promise<Response> {
  const base = upstream.replace(/\/+$/, "");
  return async (request) => {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete("host");
    let response: Response;
    try {
      response = await fetch(base + url.pathname + url.search, {
        method: request.method,
        headers,
        body: request.body,
        redirect: "manual",
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return new Response(JSON.stringify({ error: `Cannot reach ${base}: ${message}` }), {
        status: 502,
        headers: { "content-type": "application/json; charset=utf-8" },
      });
    }
    const body = mode === "tap" && response.body
      ? response.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>())
      : response.body;
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      mode: { type: "string", default: "bare" },
      port: { type: "string", default: "8001" },
      hostname: { type: "string", default: "127.0.0.1" },
      upstream: { type: "string", default: "http://127.0.0.1:11434" },
      "watch-stdin": { type: "boolean", default: false },
    },
  });
  const mode = values.mode;
  if (mode !== "bare" && mode !== "tap") {
    console.error(`pass_through: --mode must be bare or tap, got ${mode}`);
    Deno.exit(2);
  }
  serveFromCli(`pass_through (${mode})`, passThroughHandler(values.upstream, mode), {
    port: values.port,
    hostname: values.hostname,
    watchStdin: values["watch-stdin"],
  });
}
