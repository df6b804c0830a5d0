/**
 * The command-line start shared by the benchmark's servers: validate the port, optionally exit
 * when standard input closes (so a harness that dies takes its servers along), and serve.
 *
 * @module
 */

import { exitWhenStdinCloses } from "./stdin_watch.ts";

/** Serves `handler` on `--hostname`/`--port` as the server `name`; exits 2 on a bad port. */
export function serveFromCli(
  name: string,
  handler: Deno.ServeHandler<Deno.NetAddr>,
  options: { port: string; hostname: string; watchStdin: boolean },
): void {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name}: --port must be a port number, got ${options.port}`);
    Deno.exit(2);
  }
  if (options.watchStdin) exitWhenStdinCloses();
  Deno.serve({
    hostname: options.hostname,
    port,
    onListen: ({ hostname, port }) => console.error(`${name}: listening on ${hostname}:${port}`),
  }, handler);
}
