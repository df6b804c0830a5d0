/**
 * Writes a response body part by part, honouring delays and the configured split, and notices
 * when the client goes away.
 *
 * @module
 */

import { abortableSleep } from "./abortable_sleep.ts";
import { nextTurn } from "./next_turn.ts";
import type { BodyPart } from "./reply.ts";
import { seededRandom } from "./seeded_random.ts";
import type { SplitMode } from "./simulator_options.ts";

/** Largest write of the `random` split, in bytes. */
export const MAX_RANDOM_PIECE = 32;

/** How the body is written, and who hears about it. */
export interface BodyStreamOptions {
  readonly split: SplitMode;
  readonly seed: number;
  readonly splitDelayMs: number;
  /** Skip every delay. */
  readonly fast: boolean;
  /** Aborts when the simulator closes: the body then ends where it is. */
  readonly closing: AbortSignal;
  /** Progress callbacks. */
  readonly events: BodyStreamEvents;
}

/** `onWrite` for every write; then exactly one of `onAbort` and `onEnd`, once. */
export interface BodyStreamEvents {
  /** `count` bytes were handed to the HTTP layer. */
  onWrite(count: number): void;
  /** The client cancelled the body (disconnected) before it ended. */
  onAbort(): void;
  /** The body ended: fully written, or cut short because the simulator closed. */
  onEnd(): void;
}

/**
 * A pull-based body: each pull produces one write, one I/O turn (or `splitDelayMs`) after the
 * previous one, so each write is its own HTTP chunk. `first` is written at once (its delay has
 * already been waited for, before the headers); every later part after its own delay.
 * Cancellation (the client going away) stops production at once: pending delays are cut, the
 * part iterator is returned and `onAbort` fires.
 */
export function createBodyStream(
  first: Uint8Array<ArrayBuffer>,
  rest: Iterator<BodyPart>,
  options: BodyStreamOptions,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const { events } = options;
  const split = options.fast ? "line" : options.split;
  const random = seededRandom(options.seed);
  const stop = new AbortController();
  let buffer = first;
  let offset = 0;
  let lookahead: BodyPart | undefined;
  let exhausted = false;
  let stopped = false;
  let wrote = false;
  let controller: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>> | undefined;

  const finish = (): void => {
    stopped = true;
    stop.abort();
    options.closing.removeEventListener("abort", onClosing);
    if (!exhausted) {
      exhausted = true;
      rest.return?.();
    }
  };
  const onClosing = (): void => {
    if (stopped) return;
    finish();
    controller?.close();
    events.onEnd();
  };
  const nextPart = (): BodyPart | undefined => {
    if (lookahead !== undefined) {
      const part = lookahead;
      lookahead = undefined;
      return part;
    }
    if (exhausted) return undefined;
    const result = rest.next();
    if (result.done === true) {
      exhausted = true;
      return undefined;
    }
    return result.value;
  };
  const peekPart = (): BodyPart | undefined => {
    lookahead ??= nextPart();
    return lookahead;
  };
  const pieceLength = (remaining: number): number => {
    if (split === "byte") return 1;
    if (split === "line") return remaining;
    let want = 1 + Math.floor(random() * MAX_RANDOM_PIECE);
    // A random cut may cross into the next part when nothing delays it, as TCP would merge them.
    while (buffer.length - offset < want) {
      const next = peekPart();
      if (next === undefined || (next.delayMs > 0 && !options.fast)) break;
      lookahead = undefined;
      buffer = concat(buffer.subarray(offset), next.bytes);
      offset = 0;
    }
    want = Math.min(want, buffer.length - offset);
    return want;
  };

  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(c) {
      controller = c;
      if (options.closing.aborted) {
        onClosing();
        return;
      }
      options.closing.addEventListener("abort", onClosing, { once: true });
    },
    async pull(c) {
      while (!stopped) {
        if (offset >= buffer.length) {
          const part = nextPart();
          if (part === undefined) {
            finish();
            c.close();
            events.onEnd();
            return;
          }
          if (part.delayMs > 0 && !options.fast) {
            if (!await abortableSleep(part.delayMs, stop.signal)) return;
          }
          buffer = part.bytes;
          offset = 0;
          continue;
        }
        const size = pieceLength(buffer.length - offset);
        // One I/O turn between writes: each write leaves as its own HTTP chunk, as each flush of
        // Ollama does (without it the HTTP layer merges the lines written in one turn).
        if (wrote && !options.fast) {
          if (options.splitDelayMs > 0) {
            if (!await abortableSleep(options.splitDelayMs, stop.signal)) return;
          } else {
            await nextTurn();
            if (stopped) return;
          }
        }
        c.enqueue(buffer.subarray(offset, offset + size));
        events.onWrite(size);
        offset += size;
        wrote = true;
        return;
      }
    },
    cancel() {
      if (stopped) return;
      finish();
      events.onAbort();
    },
  }, { highWaterMark: 0 });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const result = new Uint8Array(a.length + b.length);
  result.set(a, 0);
  result.set(b, a.length);
  return result;
}
