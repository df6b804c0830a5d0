/**
 * The head of an HTTP/1.1 message (RFC 9112) as the upstream client writes and reads it: request
 * heads are built as text and encoded once; response heads are parsed from raw bytes into a
 * status, name–value pairs (names lower-cased, values as byte strings, as `Headers` keeps them)
 * and the framing of the body that follows.
 *
 * @module
 */

import type { HeaderPairs } from "./header_pairs.ts";

/** How the body after a response head is delimited (RFC 9112 §6.3). */
export type BodyFraming =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" }
  | { readonly kind: "close" };

/** A parsed response head. */
export interface ResponseHead {
  /** The status code, e.g. 200. */
  readonly status: number;
  /** The reason phrase after the status code; may be `""`. */
  readonly statusText: string;
  /** Header fields in order, names lower-cased. */
  readonly headers: HeaderPairs;
  /** How the body that follows is delimited. */
  readonly framing: BodyFraming;
  /** Whether the connection may carry another request once the body has been read. */
  readonly keepAlive: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Encodes a request head: request line, `host`, `headers`, then CRLF CRLF. Header values are
 * byte strings (each character one byte, as `Headers` holds them), so a value with characters
 * above 0x7F is written byte for byte rather than as UTF-8.
 */
export function encodeRequestHead(
  requestLine: string,
  headers: HeaderPairs,
): Uint8Array {
  let text = requestLine + "\r\n";
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i]!;
    text += pair[0] + ": " + pair[1] + "\r\n";
  }
  text += "\r\n";
  if (!NON_ASCII.test(text)) return encoder.encode(text);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Finds the end of a response head at the start of `bytes`: the index just past the blank line,
 * or -1 when the head is not complete yet.
 */
export function findHeadEnd(bytes: Uint8Array): number {
  const to = bytes.length;
  let lf = bytes.indexOf(0x0a);
  while (lf !== -1) {
    // "\n\r\n" or "\n\n" ends the head (a bare LF is tolerated as a line end, RFC 9112 §2.2).
    if (lf + 1 < to && bytes[lf + 1] === 0x0a) return lf + 2;
    if (lf + 2 < to && bytes[lf + 1] === 0x0d && bytes[lf + 2] === 0x0a) return lf + 3;
    lf = bytes.indexOf(0x0a, lf + 1);
  }
  return -1;
}

/** Thrown when what came back is not an HTTP/1.x response. */
export class MalformedResponseError extends Error {
  /**
   * Creates the error; the message is prefixed with "Cannot parse Ollama's response: ".
   *
   * @param message what was wrong.
   */
  constructor(message: string) {
    super(`Cannot parse Ollama's response: ${message}`);
    this.name = "MalformedResponseError";
  }
}

/**
 * Parses a complete response head (`bytes` from the status line through the blank line).
 * `options.method` is the request's method: a response to `HEAD` has no body.
 */
export function parseResponseHead(
  bytes: Uint8Array,
  options: { method: string },
): ResponseHead {
  const text = byteString(bytes);
  const lines = text.split("\n");
  const statusLine = trimCr(lines[0]!);
  const match = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: ([^]*))?$/.exec(statusLine);
  if (!match) throw new MalformedResponseError(`bad status line ${quote(statusLine)}`);
  const statusText = match[3] ?? "";
  if (!FIELD_VALUE.test(statusText)) {
    throw new MalformedResponseError(`bad reason phrase ${quote(statusText)}`);
  }
  const minor = match[1];
  const status = Number(match[2]);
  const headers: HeaderPairs = [];
  let length = -1;
  let chunked = false;
  let transferEncoding = false;
  let close = minor === "0";
  for (let i = 1; i < lines.length; i++) {
    const line = trimCr(lines[i]!);
    if (line === "") continue;
    if (line[0] === " " || line[0] === "\t") {
      // Obsolete line folding (RFC 9112 §5.2): joined to the previous field with one space.
      const last = headers[headers.length - 1];
      if (!last) throw new MalformedResponseError("a header line starts with whitespace");
      const more = line.trim();
      if (!FIELD_VALUE.test(more)) {
        throw new MalformedResponseError(`bad header value ${quote(more)}`);
      }
      last[1] = `${last[1]} ${more}`;
      continue;
    }
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    // No whitespace between name and colon (RFC 9112 §5.1): such a head is rejected whole.
    if (colon <= 0 || !TOKEN.test(name)) {
      throw new MalformedResponseError(`bad header line ${quote(line)}`);
    }
    const value = line.slice(colon + 1).replace(OWS_EDGES, "");
    // Deno's Headers refuse NUL, CR and LF; other control characters are no better.
    if (!FIELD_VALUE.test(value)) {
      throw new MalformedResponseError(`bad value of header ${quote(name)}: ${quote(value)}`);
    }
    headers.push([name, value]);
    if (name === "content-length") {
      const parsed = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
      if (Number.isNaN(parsed) || (length !== -1 && parsed !== length)) {
        throw new MalformedResponseError(`bad content-length ${quote(value)}`);
      }
      length = parsed;
    } else if (name === "transfer-encoding") {
      transferEncoding = true;
      const codings = value.toLowerCase().split(",");
      chunked = codings[codings.length - 1]!.trim() === "chunked";
    } else if (name === "connection") {
      const tokens = value.toLowerCase().split(",").map((token) => token.trim());
      if (tokens.includes("close")) close = true;
      else if (minor === "0" && tokens.includes("keep-alive")) close = false;
    }
  }
  if (transferEncoding && length !== -1 && status >= 200) {
    // RFC 9112 §6.3: the framing is ambiguous (a request-smuggling signature); refused, as nginx
    // does, rather than guessed.
    throw new MalformedResponseError("both content-length and transfer-encoding");
  }
  let framing: BodyFraming;
  if (options.method === "HEAD" || status === 204 || status === 304 || status < 200) {
    framing = { kind: "none" };
  } else if (transferEncoding) {
    framing = chunked ? { kind: "chunked" } : { kind: "close" };
  } else if (length !== -1) {
    framing = length === 0 ? { kind: "none" } : { kind: "length", length };
  } else {
    framing = { kind: "close" };
  }
  return {
    status,
    statusText,
    headers,
    framing,
    keepAlive: !close && framing.kind !== "close",
  };
}

/** A header name (RFC 9110 §5.6.2 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** A header value or reason phrase: visible ASCII, obs-text, space and tab; no controls. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const OWS_EDGES = /^[ \t]+|[ \t]+$/g;

/** Quotes a piece of a head for an error message, cut to a readable length. */
function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}...` : text);
}

function trimCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** Decodes bytes one character per byte (header values are byte strings, not UTF-8). */
function byteString(bytes: Uint8Array): string {
  const text = decoder.decode(bytes);
  if (!NON_ASCII.test(text)) return text;
  let latin1 = "";
  for (let i = 0; i < bytes.length; i++) latin1 += String.fromCharCode(bytes[i]!);
  return latin1;
}
