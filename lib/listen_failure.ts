/**
 * Turns the error `Deno.serve` throws when it cannot open its listener (it throws synchronously:
 * `AddrInUse`, `AddrNotAvailable`, a failed name lookup, `PermissionDenied`) into one line that
 * names the address and port, says why, and what to change.
 *
 * @module
 */

/** Where the exporter tried to listen. */
export interface ListenAddress {
  /** `LISTEN_HOST` as configured: an IP address or a host name. */
  readonly hostname: string;
  /** `PORT`. */
  readonly port: number;
}

/**
 * The one-line message for a failure to listen on `address`, without a stack:
 * `Cannot listen on 127.0.0.1:8000: the port is already in use by another program (set PORT to
 * a free port)`.
 *
 * @param error what `Deno.serve` threw.
 * @param address the configured `LISTEN_HOST` and `PORT`.
 */
export function listenFailure(error: unknown, address: ListenAddress): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  const where = `Cannot listen on ${host}:${address.port}`;
  const detail = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.AddrInUse) {
    return `${where}: the port is already in use by another program (set PORT to a free port)`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `${where}: ${address.hostname} is not an address of this machine ` +
      `(set LISTEN_HOST to one of its addresses, or 0.0.0.0 for all of them)`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `${where}: the system does not allow it (${detail}; ports below 1024 need ` +
      `privileges: set PORT to 1024 or more)`;
  }
  if (error instanceof Deno.errors.NotCapable) {
    return `${where}: no network permission (run with --allow-net)`;
  }
  if (/lookup address|name or service not known|nodename nor servname|no such host/i.test(detail)) {
    return `${where}: the host name ${address.hostname} cannot be resolved (${detail}; set ` +
      `LISTEN_HOST to an IP address or a name of this machine)`;
  }
  return `${where}: ${detail.replace(/\s*\n\s*/g, " ")}`;
}
