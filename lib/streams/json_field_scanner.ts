/**
 * A bounded, incremental scan of a JSON request body for a few top-level fields. The body is fed
 * in chunks of any size; the scanner follows the top-level object's structure (keys, strings,
 * escapes, nesting depth) and keeps only the raw bytes of the values of the keys it was asked for,
 * each up to a small cap. Everything else is skipped without being stored, so memory stays the
 * same however large the body is. It records where the top-level object's closing `}` is, so that
 * bytes can be inserted in front of it.
 *
 * Keys are matched the way Ollama's Go decoder matches struct fields (ASCII case-insensitively,
 * escapes decoded) and the last occurrence of a key wins, as there. Nested values are skipped,
 * not validated: Ollama answers a body that is not valid JSON with its own 400. What follows the
 * closing `}` is ignored, as Go's `json.Decoder` ignores it.
 *
 * @module
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Where the scan is in the top-level object. */
enum State {
  /** Before the opening `{`. */
  Before,
  /** After `{`: a key or `}`. */
  FirstKey,
  /** After `,`: a key. */
  NextKey,
  /** Inside a key string. */
  Key,
  /** After a key: `:`. */
  Colon,
  /** After `:`: the start of a value. */
  ValueStart,
  /** Inside a top-level string value. */
  StringValue,
  /** Inside a nested object or array value. */
  Nested,
  /** Inside a number, `true`, `false` or `null`. */
  Scalar,
  /** After a value: `,` or `}`. */
  AfterValue,
  /** The closing `}` has been seen. */
  Done,
  /** The body is not a JSON object. */
  Invalid,
}

/** Longest key compared with the wanted ones, in bytes; longer keys are skipped. */
const MAX_KEY = 256;
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Captured bytes of one wanted value, parsed on first use. */
interface Captured {
  readonly raw: Uint8Array | null;
  parsed?: { value: unknown };
}

/** Scans a JSON object's top level for the values of a few keys, chunk by chunk. */
export class JsonFieldScanner {
  #wanted: ReadonlySet<string>;
  #maxValue: number;
  #state: State = State.Before;
  #offset = 0;
  #closeOffset = -1;
  #members = 0;
  // Strings (keys, string values, strings inside nested values).
  #escape = false;
  #nestedString = false;
  #depth = 0;
  // The key being read.
  #key = new Uint8Array(MAX_KEY);
  /** The next quote and backslash in the chunk being pushed (-1: none; -2: not searched). */
  #quoteAt = -2;
  #slashAt = -2;
  #keyLength = 0;
  #keyEscaped = false;
  // The value being captured (`#capturing` is its key), and what was captured.
  #capturing: string | undefined;
  #capture: Uint8Array | undefined;
  #captureLength = 0;
  #overflow = false;
  #values = new Map<string, Captured>();

  /**
   * Creates a scanner positioned before the start of the object.
   *
   * @param keys the top-level keys whose values are wanted (matched ASCII case-insensitively).
   * @param options `maxValueBytes` caps each captured value (default 4 KiB); a longer value is
   * skipped and reads as unknown.
   */
  constructor(keys: readonly string[], options: { maxValueBytes?: number } = {}) {
    this.#wanted = new Set(keys.map((key) => key.toLowerCase()));
    this.#maxValue = options.maxValueBytes ?? 4096;
  }

  /**
   * Scans a whole body at once: the same result as {@linkcode push} of the whole body, through
   * the runtime's JSON parser when the body is one valid JSON object (eight times faster than
   * the byte scan on a typical small request); else through {@linkcode push}. Returns the index of
   * the top-level closing `}`, or -1.
   */
  pushWhole(body: Uint8Array): number {
    if (this.#offset !== 0 || this.#state !== State.Before) return this.push(body);
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(body));
    } catch {
      // Not one valid JSON document (maybe an object followed by more, which Go's decoder reads
      // past): the byte scan says what Ollama will see.
      return this.push(body);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return this.#fail(body.length);
    }
    const record = parsed as Record<string, unknown>;
    for (const key in record) {
      this.#members++;
      const name = key.toLowerCase();
      if (this.#wanted.has(name)) {
        // Over the cap, a value reads as unknown, as in the byte scan.
        const value = record[key];
        const size = JSON.stringify(value).length;
        this.#values.set(
          name,
          size > this.#maxValue ? { raw: null } : { raw: EMPTY, parsed: { value } },
        );
      }
    }
    let close = body.length - 1;
    while (close > 0 && body[close] !== CLOSE_BRACE) close--;
    this.#offset = body.length;
    this.#state = State.Done;
    this.#closeOffset = close;
    return close;
  }

  /** Whether the top-level object's closing `}` has been seen (its fields are all known). */
  get complete(): boolean {
    return this.#state === State.Done;
  }

  /** Whether the body turned out not to be a JSON object (every field is unknown). */
  get invalid(): boolean {
    return this.#state === State.Invalid;
  }

  /** Whether the closed object has no members (`{}`): an insertion then needs no comma. */
  get empty(): boolean {
    return this.#members === 0;
  }

  /** The offset of the top-level closing `}` from the start of the body, or -1. */
  get closeOffset(): number {
    return this.#closeOffset;
  }

  /** How many bytes have been scanned. */
  get scanned(): number {
    return this.#offset;
  }

  /** Whether `key` (one of the wanted keys) occurred, whatever its value (and however long). */
  has(key: string): boolean {
    return this.#state !== State.Invalid && this.#values.has(key.toLowerCase());
  }

  /**
   * The value of `key` (one of the wanted keys) as seen so far: the last occurrence's parsed JSON
   * value, or `undefined` when it did not occur (yet), was longer than the cap, is not valid JSON,
   * or the body is not a JSON object.
   */
  value(key: string): unknown {
    if (this.#state === State.Invalid) return undefined;
    const captured = this.#values.get(key.toLowerCase());
    if (!captured || captured.raw === null) return undefined;
    if (!captured.parsed) {
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(captured.raw));
      } catch {
        value = undefined;
      }
      captured.parsed = { value };
    }
    return captured.parsed.value;
  }

  /**
   * Scans the next chunk of the body. Returns the index in `chunk` of the top-level closing `}`
   * when it is in this chunk, else -1.
   */
  push(chunk: Uint8Array): number {
    this.#quoteAt = this.#slashAt = -2;
    const n = chunk.length;
    let closeAt = -1;
    let i = 0;
    // Where the value being captured starts in this chunk.
    let from = this.#capturing !== undefined ? 0 : -1;
    while (i < n) {
      switch (this.#state) {
        case State.Before: {
          const byte = chunk[i]!;
          if (isSpace(byte)) i++;
          else if (byte === OPEN_BRACE) {
            this.#state = State.FirstKey;
            i++;
          } else return this.#fail(n);
          break;
        }
        case State.FirstKey:
        case State.NextKey: {
          const byte = chunk[i]!;
          if (isSpace(byte)) i++;
          else if (byte === QUOTE) {
            this.#state = State.Key;
            this.#keyLength = 0;
            this.#keyEscaped = false;
            this.#escape = false;
            i++;
          } else if (byte === CLOSE_BRACE && this.#state === State.FirstKey) {
            closeAt = this.#close(i);
            i++;
          } else return this.#fail(n);
          break;
        }
        case State.Key: {
          const end = this.#stringEnd(chunk, i);
          const stop = end === -1 ? n : end;
          const length = stop - i;
          if (this.#keyLength + length <= MAX_KEY) {
            this.#key.set(chunk.subarray(i, stop), this.#keyLength);
          }
          this.#keyLength += length;
          if (end === -1) return this.#advance(n, closeAt);
          this.#state = State.Colon;
          i = end + 1;
          break;
        }
        case State.Colon: {
          const byte = chunk[i]!;
          if (isSpace(byte)) i++;
          else if (byte === COLON) {
            this.#state = State.ValueStart;
            i++;
          } else return this.#fail(n);
          break;
        }
        case State.ValueStart: {
          const byte = chunk[i]!;
          if (isSpace(byte)) {
            i++;
            break;
          }
          if (
            byte === CLOSE_BRACE || byte === CLOSE_BRACKET || byte === COMMA || byte === COLON
          ) {
            return this.#fail(n);
          }
          this.#members++;
          const key = this.#keyName();
          if (key !== undefined && this.#wanted.has(key)) {
            this.#capturing = key;
            this.#captureLength = 0;
            this.#overflow = false;
            from = i;
          }
          if (byte === QUOTE) {
            this.#state = State.StringValue;
            this.#escape = false;
            i++;
          } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
            this.#state = State.Nested;
            this.#depth = 1;
            this.#nestedString = false;
            i++;
          } else {
            this.#state = State.Scalar;
          }
          break;
        }
        case State.StringValue: {
          const end = this.#stringEnd(chunk, i);
          if (end === -1) {
            i = n;
            break;
          }
          i = end + 1;
          from = this.#endValue(chunk, from, i);
          break;
        }
        case State.Nested: {
          i = this.#skipNested(chunk, i);
          if (this.#depth === 0) from = this.#endValue(chunk, from, i);
          break;
        }
        case State.Scalar: {
          while (i < n) {
            const byte = chunk[i]!;
            if (isSpace(byte) || byte === COMMA || byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
              break;
            }
            i++;
          }
          if (i < n) from = this.#endValue(chunk, from, i);
          break;
        }
        case State.AfterValue: {
          const byte = chunk[i]!;
          if (isSpace(byte)) i++;
          else if (byte === COMMA) {
            this.#state = State.NextKey;
            i++;
          } else if (byte === CLOSE_BRACE) {
            closeAt = this.#close(i);
            i++;
          } else return this.#fail(n);
          break;
        }
        case State.Done:
        case State.Invalid:
          return this.#advance(n, closeAt);
      }
    }
    if (this.#capturing !== undefined && from !== -1) this.#append(chunk.subarray(from, n));
    return this.#advance(n, closeAt);
  }

  #advance(n: number, closeAt: number): number {
    this.#offset += n;
    return closeAt;
  }

  #fail(n: number): number {
    this.#state = State.Invalid;
    this.#capturing = undefined;
    this.#values.clear();
    this.#offset += n;
    return -1;
  }

  #close(index: number): number {
    this.#state = State.Done;
    this.#closeOffset = this.#offset + index;
    return index;
  }

  /**
   * The index of the quote that ends the string being read, from `i` on, or -1 when the string
   * goes on past the chunk. Keeps the escape state across chunks.
   */
  #stringEnd(chunk: Uint8Array, i: number): number {
    const n = chunk.length;
    if (this.#escape) {
      if (i >= n) return -1;
      this.#escape = false;
      this.#keyEscaped = true;
      i++;
    }
    for (;;) {
      const quote = this.#quoteFrom(chunk, i);
      const slash = this.#slashFrom(chunk, i);
      if (slash === -1 || (quote !== -1 && quote < slash)) return quote;
      // An escape: skip the backslash and the byte it escapes.
      this.#keyEscaped = true;
      if (slash + 1 >= n) {
        this.#escape = true;
        return -1;
      }
      i = slash + 2;
    }
  }

  /**
   * The next quote at or after `i` in the chunk being pushed. Searches only move forward within a
   * chunk, so a chunk of many short strings (or many escapes) is searched once, not once a string.
   */
  #quoteFrom(chunk: Uint8Array, i: number): number {
    if (this.#quoteAt !== -1 && this.#quoteAt < i) this.#quoteAt = chunk.indexOf(QUOTE, i);
    return this.#quoteAt;
  }

  /** The next backslash at or after `i` in the chunk being pushed (see `#quoteFrom`). */
  #slashFrom(chunk: Uint8Array, i: number): number {
    if (this.#slashAt !== -1 && this.#slashAt < i) this.#slashAt = chunk.indexOf(BACKSLASH, i);
    return this.#slashAt;
  }

  /** Skips through a nested value from `i`; returns where it stopped (its end, or the chunk's). */
  #skipNested(chunk: Uint8Array, i: number): number {
    const n = chunk.length;
    while (i < n) {
      if (this.#nestedString) {
        const end = this.#stringEnd(chunk, i);
        if (end === -1) return n;
        this.#nestedString = false;
        i = end + 1;
        continue;
      }
      const byte = chunk[i++]!;
      if (byte === QUOTE) {
        this.#nestedString = true;
        this.#escape = false;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        this.#depth++;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (--this.#depth === 0) return i;
      }
    }
    return i;
  }

  /** Ends a value at `end` in `chunk`: stores it when it was wanted. Returns -1 (no capture). */
  #endValue(chunk: Uint8Array, from: number, end: number): number {
    this.#state = State.AfterValue;
    const key = this.#capturing;
    if (key === undefined) return -1;
    this.#append(chunk.subarray(from, end));
    this.#values.set(key, {
      raw: this.#overflow ? null : (this.#capture?.slice(0, this.#captureLength) ?? EMPTY),
    });
    this.#capturing = undefined;
    return -1;
  }

  #append(bytes: Uint8Array): void {
    if (this.#overflow) return;
    if (this.#captureLength + bytes.length > this.#maxValue) {
      this.#overflow = true;
      return;
    }
    this.#capture ??= new Uint8Array(this.#maxValue);
    this.#capture.set(bytes, this.#captureLength);
    this.#captureLength += bytes.length;
  }

  /** The key just read, lower-cased, or `undefined` when it is too long to be a wanted one. */
  #keyName(): string | undefined {
    if (this.#keyLength > MAX_KEY) return undefined;
    const raw = decoder.decode(this.#key.subarray(0, this.#keyLength));
    if (!this.#keyEscaped) return raw.toLowerCase();
    try {
      return String(JSON.parse(`"${raw}"`)).toLowerCase();
    } catch {
      return undefined;
    }
  }
}
