/**
 * Lets a benchmark server end with the harness that started it: the harness keeps the server's
 * standard input open, and its end (the harness exited or died) ends the server.
 *
 * @module
 */

/** Exits the process when standard input reaches its end. */
export function exitWhenStdinCloses(): void {
  (async () => {
    try {
      for await (const _ of Deno.stdin.readable) { /* only waiting for the end */ }
    } finally {
      Deno.exit(0);
    }
  })();
}
