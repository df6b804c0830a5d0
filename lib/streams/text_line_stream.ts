/**
 * `TextLineStream` with the API of `@std/streams/text-line-stream`: splits a stream of strings
 * into lines on `\n` (and `\r\n`; with `allowCR`, a lone `\r` too). The last line is emitted even
 * without a trailing newline. Swapping in the standard module is a one-line import change.
 *
 * @module
 */

/** Options of {@linkcode TextLineStream}. */
export interface TextLineStreamOptions {
  /** Also split on a lone `\r` (default `false`). */
  readonly allowCR?: boolean;
}

/** Transforms a stream of text chunks into a stream of lines, without the line endings. */
export class TextLineStream extends TransformStream<string, string> {
  #rest = "";

  /**
   * Creates the stream; by default lines end at `\n` or `\r\n` only.
   *
   * @param options `allowCR` splits on a lone carriage return too.
   */
  constructor(options: TextLineStreamOptions = {}) {
    const allowCR = options.allowCR ?? false;
    super({
      transform: (chunk, controller) => {
        let text = this.#rest + chunk;
        for (;;) {
          const lf = text.indexOf("\n");
          const cr = allowCR ? text.indexOf("\r") : -1;
          if (cr !== -1 && cr !== text.length - 1 && (lf === -1 || lf - 1 > cr)) {
            controller.enqueue(text.slice(0, cr));
            text = text.slice(cr + 1);
            continue;
          }
          if (lf === -1) break;
          const end = text[lf - 1] === "\r" ? lf - 1 : lf;
          controller.enqueue(text.slice(0, end));
          text = text.slice(lf + 1);
        }
        this.#rest = text;
      },
      flush: (controller) => {
        if (this.#rest === "") return;
        const line = allowCR && this.#rest.endsWith("\r") ? this.#rest.slice(0, -1) : this.#rest;
        controller.enqueue(line);
      },
    });
  }
}
