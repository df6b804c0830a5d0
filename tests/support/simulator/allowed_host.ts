/**
 * Ollama's DNS-rebinding guard: a server bound to loopback only answers requests whose `Host`
 * names this machine.
 *
 * @module
 */

/**
 * True when Ollama (bound to loopback) would serve a request with this `Host` header: an IP that
 * is loopback, private or unspecified (with or without port, IPv6 in brackets or not), an empty
 * host, `localhost`, or a name ending in `.localhost`, `.local` or `.internal`. Anything else
 * gets 403 with an empty body.
 */
export function isAllowedHost(hostHeader: string | null): boolean {
  const host = stripPort((hostHeader ?? "").trim()).toLowerCase();
  if (host === "" || host === "localhost") return true;
  if (isLocalIPv4(host) || isLocalIPv6(host)) return true;
  return [".localhost", ".local", ".internal"].some((suffix) => host.endsWith(suffix));
}

function stripPort(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end === -1 ? host : host.slice(1, end);
  }
  const colons = host.split(":").length - 1;
  if (colons === 1) return host.slice(0, host.indexOf(":"));
  return host;
}

function isLocalIPv4(host: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (match === null) return false;
  const octets = match.slice(1).map(Number);
  if (octets.some((octet) => octet > 255)) return false;
  const [a = 0, b = 0] = octets;
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) || octets.every((octet) => octet === 0);
}

function isLocalIPv6(host: string): boolean {
  if (!host.includes(":") || !/^[0-9a-f:.]+$/.test(host)) return false;
  if (host === "::1" || host === "::" || /^0*(:0*)*:0*1$/.test(host)) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (mapped !== null) return isLocalIPv4(mapped[1] ?? "");
  return /^f[cd][0-9a-f]{0,2}:/.test(host);
}
