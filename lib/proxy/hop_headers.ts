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

/**
 * Copies `headers` without hop-by-hop headers and without those listed in `options.drop`
 * (lower-case names).
 */
export function withoutHopHeaders(
  headers: Headers,
  options: { drop?: readonly string[] } = {},
): Headers {
  const named = headers.get("connection");
  const extra = named ? named.toLowerCase().split(",").map((name) => name.trim()) : [];
  const result = new Headers();
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name) || extra.includes(name) || options.drop?.includes(name)) continue;
    result.append(name, value);
  }
  return result;
}
