/**
 * Line splitting on raw bytes for the proxy's hot path. Where `TextLineStream` decodes every
 * byte, this finds line feeds with `Uint8Array.indexOf` and hands each complete line over as
 * bytes, so a caller can classify a line by its last few bytes and decode only the lines it needs.
 * A line may be split anywhere across chunks, also inside a multi-byte UTF-8 character: the pieces
 * are joined before the line is handed over.
 *
 * @module
 */

import { concatBytes } from "./concat_bytes.ts";

const LF = 0x0a;
const CR = 0x0d;

/** Called with each complete line (without `\n` or `\r\n`, unless `keepLineEnding` is set). */
export type LineHandler = (line: Uint8Array, info: { truncated: boolean }) => void;

/**
 * Splits byte chunks into lines. Lines longer than `maxLineBytes` keep only their last
 * `maxLineBytes` or more bytes and are reported with `truncated: true`, so a 60 MB single-line
 * body never holds more than about that much in memory. With `keepLineEnding`, each line is handed
 * over with its `\n` (or `\r\n`) exactly as received, for callers that pass lines on.
 */
export class ByteLineSplitter {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #truncated = false;
  #onLine: LineHandler;
  #maxLineBytes: number;
  #ending: number;

  /**
   * Creates a splitter with no pending line.
   *
   * @param onLine called for every complete line.
   * @param options `maxLineBytes` bounds what is kept of one line (default 1 MiB; `Infinity`
   * keeps every byte); `keepLineEnding` hands lines over with their line ending.
   */
  constructor(
    onLine: LineHandler,
    options: { maxLineBytes?: number; keepLineEnding?: boolean } = {},
  ) {
    this.#onLine = onLine;
    this.#maxLineBytes = options.maxLineBytes ?? 1 << 20;
    this.#ending = options.keepLineEnding ? 1 : 0;
  }

  /** Bytes of an unfinished line held until its line feed arrives. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Feeds one chunk; complete lines are handed over before it returns. */
  push(chunk: Uint8Array): void {
    let start = 0;
    let lf = chunk.indexOf(LF);
    while (lf !== -1) {
      this.#emit(chunk.subarray(start, lf + this.#ending));
      start = lf + 1;
      lf = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) this.#keep(chunk.subarray(start));
  }

  /** Hands over what is left as a last line without a newline, if anything is. */
  flush(): void {
    if (this.#pendingBytes > 0) this.#emit(new Uint8Array(0));
  }

  #keep(piece: Uint8Array): void {
    // A view, not a copy: every chunk a body stream yields is a fresh buffer that nobody writes
    // to again (the client's response only reads it), so holding the view is safe and a huge
    // line costs no second copy of its bytes.
    this.#pending.push(piece);
    this.#pendingBytes += piece.length;
    while (this.#pendingBytes - this.#pending[0]!.length >= this.#maxLineBytes) {
      this.#pendingBytes -= this.#pending.shift()!.length;
      this.#truncated = true;
    }
  }

  #emit(tail: Uint8Array): void {
    let line = tail;
    if (this.#pendingBytes > 0) {
      // A body read whole arrives as one piece without a line feed: hand it over as it is.
      if (tail.length > 0 || this.#pending.length > 1) this.#pending.push(tail);
      line = this.#pending.length === 1 ? this.#pending[0]! : concatBytes(this.#pending);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    const truncated = this.#truncated;
    this.#truncated = false;
    if (this.#ending === 0 && line.length > 0 && line[line.length - 1] === CR) {
      line = line.subarray(0, -1);
    }
    this.#onLine(line, { truncated });
  }
}
