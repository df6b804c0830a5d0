/**
 * Header handling of a transparent proxy (RFC 9110 §7.6.1): hop-by-hop headers, and those named
 * in `Connection`, belong to one connection and are dropped in both directions; everything else,
 * `Content-Type` and `Content-Encoding` included, passes unchanged.
 *
 * @module
 */

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export type { HeaderPairs } from "../http1/header_pairs.ts";
import type { HeaderPairs } from "../http1/header_pairs.ts";

/**
 * Copies `headers` (a `Headers` object, or pairs with lower-case names) without hop-by-hop
 * headers and without those listed in `options.drop` (lower-case names). Returns pairs rather
 * than a `Headers` object: `Response` copies whatever it is given, and filling an intermediate
 * `Headers` would copy every field twice. A `Headers` object is read with `forEach`, which yields
 * the same fields as iterating it at a seventh of the cost (`bench/http1_bench.ts`).
 */
export function withoutHopHeaders(
  headers: Headers | HeaderPairs,
  options: { drop?: readonly string[] } = {},
): HeaderPairs {
  const drop = options.drop;
  const result: HeaderPairs = [];
  let connection: string | undefined;
  const add = (value: string, name: string) => {
    if (HOP_BY_HOP.has(name)) {
      if (name === "connection") connection = connection ? `${connection},${value}` : value;
    } else if (!drop?.includes(name)) {
      result.push([name, value]);
    }
  };
  if (headers instanceof Headers) headers.forEach(add);
  else for (const [name, value] of headers) add(value, name);
  if (connection === undefined) return result;
  const named = connection.toLowerCase().split(",").map((name) => name.trim());
  return result.filter(([name]) => !named.includes(name));
}
