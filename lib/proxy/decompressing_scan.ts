/**
 * Reads the fields of a compressed request body (`Content-Encoding: zstd`, `gzip`, `deflate` or
 * `br`, which OpenAI's clients may send to `/v1/responses`) without changing what is forwarded: the
 * compressed bytes go to Ollama as they came, and a copy of what they decompress to is fed to the
 * body's {@linkcode JsonFieldScanner} as it is produced, never kept. Memory stays bounded by the
 * decompressor's window; decompression stops once the output passes a limit (a small body that
 * expands to gigabytes is not worth the CPU: its fields are then unknown), or at the first error
 * (Ollama will refuse such a body itself).
 *
 * @module
 */

import type { Transform } from "node:stream";
import zlib from "node:zlib";
import type { JsonFieldScanner } from "../streams/json_field_scanner.ts";

/** The content codings whose bodies can be read. */
const DECOMPRESSORS: Readonly<Record<string, () => Transform>> = {
  zstd: () => zlib.createZstdDecompress(),
  gzip: () => zlib.createGunzip(),
  "x-gzip": () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/** Whether a body with this `Content-Encoding` can be decompressed for the scan. */
export function canDecompress(encoding: string): boolean {
  return Object.hasOwn(DECOMPRESSORS, encoding.trim().toLowerCase());
}

/** Feeds a compressed body, chunk by chunk, through a decompressor into a field scanner. */
export class DecompressingScan {
  #stream: Transform;
  #scan: JsonFieldScanner;
  #limit: number;
  #produced = 0;
  #stopped = false;
  #ended: Promise<void>;

  /**
   * Starts a decompressor for `encoding` (see {@linkcode canDecompress}) feeding `scan`.
   *
   * @param options `limit` is the most decompressed bytes read.
   */
  constructor(encoding: string, scan: JsonFieldScanner, options: { limit: number }) {
    const create = DECOMPRESSORS[encoding.trim().toLowerCase()];
    if (create === undefined) {
      throw new Error(`Cannot decompress a request body: unknown content coding "${encoding}"`);
    }
    this.#stream = create();
    this.#scan = scan;
    this.#limit = options.limit;
    this.#ended = new Promise((resolve) => {
      this.#stream.on("end", resolve);
      this.#stream.on("close", resolve);
      this.#stream.on("error", () => {
        this.#stopped = true;
        resolve();
      });
    });
    this.#stream.on("data", (bytes: Uint8Array) => this.#read(bytes));
  }

  /** Whether decompression stopped early (corrupt data, or output over the limit). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Decompresses `chunk` into the scan; resolves once the decompressor has taken it, so the
   * caller may reuse `chunk`'s memory afterwards.
   */
  push(chunk: Uint8Array): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    // A decompressor destroyed meanwhile may never call back: its end settles the wait too.
    return Promise.race([
      new Promise<void>((resolve) => this.#stream.write(chunk, () => resolve())),
      this.#ended,
    ]);
  }

  /** Ends the body; resolves once everything it decompresses to has been scanned. */
  end(): Promise<void> {
    if (!this.#stopped) this.#stream.end();
    return this.#ended;
  }

  #read(bytes: Uint8Array): void {
    if (this.#stopped) return;
    this.#produced += bytes.length;
    if (this.#produced > this.#limit) {
      this.#stopped = true;
      this.#stream.destroy();
      return;
    }
    this.#scan.push(bytes);
  }
}
