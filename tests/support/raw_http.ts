/**
 * HTTP/1.1 over a bare TCP connection, for requests `fetch` cannot make (a chosen `Host`
 * header) and for seeing the response exactly as it was framed on the wire.
 *
 * @module
 */

/** A response read off the wire. */
export interface RawResponse {
  /** Status code from the status line. */
  readonly status: number;
  /** Header fields in order, names lower-cased, values as sent. */
  readonly headers: readonly (readonly [string, string])[];
  /** The body, de-chunked when `Transfer-Encoding: chunked`. */
  readonly body: Uint8Array;
  /** Everything received, status line to last byte. */
  readonly raw: Uint8Array;
}

/** Options of {@link rawRequest}. */
export interface RawRequestOptions {
  /** Request method (default GET). */
  readonly method?: string;
  /** Header fields in order; include `Host` yourself (default `127.0.0.1:PORT`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Request body; Content-Length is added. */
  readonly body?: string;
  /** Give up after this many ms (default 10000). */
  readonly timeoutMs?: number;
}

/**
 * Sends one request with `Connection: close` to 127.0.0.1:`port` and reads the whole response.
 * Throws when the response cannot be parsed or does not arrive within the timeout.
 */
export async function rawRequest(
  port: number,
  path: string,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = { Host: `127.0.0.1:${port}`, ...options.headers };
  const body = new TextEncoder().encode(options.body ?? "");
  if (options.body !== undefined) headers["Content-Length"] = String(body.length);
  headers["Connection"] = "close";
  const head = `${method} ${path} HTTP/1.1\r\n` +
    Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("") + "\r\n";
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), options.timeoutMs ?? 10_000);
  const received: Uint8Array[] = [];
  try {
    await writeAll(conn, new TextEncoder().encode(head));
    if (body.length > 0) await writeAll(conn, body);
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      received.push(buffer.slice(0, n));
    }
  } catch (error) {
    throw new Error(`Cannot complete ${method} ${path} on port ${port}: ${error}`, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Already closed by the timeout.
    }
  }
  return parseResponse(concat(received), method);
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

function parseResponse(raw: Uint8Array, method: string): RawResponse {
  const text = new TextDecoder("latin1").decode(raw);
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) throw new Error(`Cannot parse the raw response: no end of headers in ${text}`);
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  const rest = raw.subarray(end + 4);
  const chunked = headers.some(([name, value]) =>
    name === "transfer-encoding" && value.toLowerCase() === "chunked"
  );
  const body = method === "HEAD" ? new Uint8Array() : chunked ? dechunk(rest) : rest;
  return { status, headers, body, raw };
}

function dechunk(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const latin1 = new TextDecoder("latin1");
  for (;;) {
    let lineEnd = offset;
    while (lineEnd + 1 < bytes.length && !(bytes[lineEnd] === 13 && bytes[lineEnd + 1] === 10)) {
      lineEnd++;
    }
    if (lineEnd + 1 >= bytes.length) {
      throw new Error("Cannot de-chunk the raw response: truncated chunk size line");
    }
    const size = parseInt(latin1.decode(bytes.subarray(offset, lineEnd)), 16);
    offset = lineEnd + 2;
    if (size === 0) break;
    parts.push(bytes.subarray(offset, offset + size));
    offset += size + 2;
  }
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const result = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}
