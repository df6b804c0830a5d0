/**
 * DNS-rebinding protection, the rule Ollama applies (`allowedHostsMiddleware` in Ollama's
 * `server/routes.go`). A web page on a hostile domain can make a browser send requests to
 * `127.0.0.1` by pointing the domain's DNS record there; such requests still carry the hostile
 * `Host`. Ollama, when it listens on a loopback address, refuses requests whose `Host` does not
 * name this machine. The exporter rewrites `Host` on its way to Ollama, which would defeat that
 * check, so it applies the same rule itself when it listens on loopback.
 *
 * Allowed, with any port, compared without regard to case: an empty or missing `Host`,
 * `localhost`, names ending in `.localhost`, `.local` or `.internal`, IP literals that are
 * loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7) or unspecified (IPv4-mapped IPv6
 * included), and the names of `ALLOWED_HOSTS` (`*.example.com` allows every name under
 * `example.com`; `*` allows every name). Ollama also allows the machine's host name and the
 * addresses of its network interfaces; reading those needs `--allow-sys`, which the exporter does
 * not ask for, so they go into `ALLOWED_HOSTS` when wanted. Everything else gets 403 in the
 * error shape of the API called.
 *
 * @module
 */

import { errorBody, errorShapeOf } from "../proxy/upstream_failure.ts";
import type { RouteHandler } from "./route.ts";

/** Options of {@linkcode hostGuard}. */
export interface HostGuardOptions {
  /** The address the exporter listens on (`LISTEN_HOST`); the guard is on only for loopback. */
  readonly listenHost: string;
  /** Extra names accepted (`ALLOWED_HOSTS`, lower-cased). */
  readonly allowedHosts: readonly string[];
}

/**
 * Returns `route` guarded by the `Host` check when `options.listenHost` is a loopback address
 * (127.0.0.0/8, `::1`, `localhost`), else `route` itself.
 */
export function hostGuard(route: RouteHandler, options: HostGuardOptions): RouteHandler {
  if (!isLoopbackListenHost(options.listenHost)) return route;
  const exact = new Set<string>();
  const suffixes: string[] = [];
  let any = false;
  for (const entry of options.allowedHosts) {
    if (entry === "*") any = true;
    else if (entry.startsWith("*.")) suffixes.push(entry.slice(1));
    else exact.add(hostName(entry));
  }
  if (any) return route;
  const allowed = (host: string): boolean =>
    hostAllowed(host) || exact.has(host) || suffixes.some((suffix) => host.endsWith(suffix));
  // `Host` values already found allowed: nearly every request carries one of a few, and the
  // check of an IP literal costs more than the rest of a small request's routing.
  const seen = new Set<string>();
  return (request, context) => {
    const header = request.headers.get("host") ?? "";
    if (seen.has(header) && context.url.host === header) return route(request, context);
    let host = hostName(header);
    // An absolute-form target (`GET http://name/ HTTP/1.1`) names a host of its own, the one
    // Go's server goes by: both must pass.
    if (allowed(host) && header !== "" && context.url.host !== header.trim().toLowerCase()) {
      host = hostName(context.url.hostname);
    }
    if (allowed(host)) {
      if (seen.size < 64 && context.url.host === header) seen.add(header);
      return route(request, context);
    }
    const shown = host.length > 100 ? `${host.slice(0, 100)}…` : host;
    const message = `forbidden: Host "${shown}" is not allowed when the exporter listens on ` +
      "loopback (DNS-rebinding protection); add it to ALLOWED_HOSTS";
    const shape = errorShapeOf(context.url.pathname);
    return new Response(
      errorBody(message, { shape, status: 403, code: "host_not_allowed" }) +
        "\n",
      { status: 403, headers: { "content-type": "application/json; charset=utf-8" } },
    );
  };
}

/** Whether `listenHost` is a loopback address: 127.0.0.0/8, `::1` (bracketed or not), `localhost`. */
export function isLoopbackListenHost(listenHost: string): boolean {
  const host = listenHost.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (host === "localhost") return true;
  const v4 = ipv4(host);
  if (v4 !== null) return v4[0] === 127;
  const v6 = ipv6(host);
  return v6 !== null && v6 === "::1";
}

/**
 * Whether a host name (as {@linkcode hostName} returns it) passes Ollama's own rule, before
 * `ALLOWED_HOSTS`.
 */
export function hostAllowed(host: string): boolean {
  if (host === "" || host === "localhost") return true;
  if (host.endsWith(".localhost") || host.endsWith(".local") || host.endsWith(".internal")) {
    return true;
  }
  const v4 = ipv4(host);
  if (v4 !== null) return localIPv4(v4);
  const v6 = ipv6(host);
  if (v6 === null) return false;
  if (v6 === "::1" || v6 === "::") return true;
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (mapped) {
    const high = parseInt(mapped[1]!, 16);
    const low = parseInt(mapped[2]!, 16);
    return localIPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  }
  const first = v6.startsWith(":") ? 0 : parseInt(v6.split(":")[0]!, 16);
  return (first & 0xfe00) === 0xfc00;
}

/**
 * The host part of a `Host` header, lower-cased, without its port and without the brackets of an
 * IPv6 literal (`[::1]:8000` → `::1`, `Example.com:80` → `example.com`; `[::1]` stays `[::1]`).
 */
export function hostName(header: string): string {
  const host = header.trim().toLowerCase();
  if (host.startsWith("[")) {
    // Only `[ip]:port` splits (Go's SplitHostPort); a bracketed address without a port stays
    // whole, brackets and all, and so is no IP address: Ollama refuses `[::1]`, and so does this.
    const end = host.indexOf("]");
    return end !== -1 && host[end + 1] === ":" ? host.slice(1, end) : host;
  }
  const colon = host.indexOf(":");
  // One colon: name:port. More: a bare IPv6 literal, as Go's SplitHostPort leaves it.
  return colon !== -1 && colon === host.lastIndexOf(":") ? host.slice(0, colon) : host;
}

function localIPv4(octets: readonly number[]): boolean {
  const [a = 0, b = 0] = octets;
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) || octets.every((octet) => octet === 0);
}

/** The octets of a dotted-decimal IPv4 address as Go's `netip.ParseAddr` reads it, or `null`. */
function ipv4(host: string): number[] | null {
  if (!/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(host)) return null;
  const octets = host.split(".").map(Number);
  return octets.every((octet) => octet <= 255) ? octets : null;
}

/** The canonical (compressed, lower-case) form of an IPv6 literal, or `null`. */
function ipv6(host: string): string | null {
  if (!host.includes(":") || !/^[0-9a-f:.]+$/.test(host)) return null;
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
}
