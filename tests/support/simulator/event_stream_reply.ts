/**
 * The streaming answer of Ollama's Anthropic and Responses layers: the native lines of a
 * generation, each turned into SSE events by the layer's converter.
 *
 * @module
 */

import { EVENT_STREAM_HEADERS } from "./event_stream_headers.ts";
import type { GenerationSetup } from "./generation_setup.ts";
import { type NativeResponse, nativeResponse } from "./native_response.ts";
import { type BodyPart, type Reply, textPart } from "./reply.ts";
import { sseEvent, type StreamEvent } from "./sse_event.ts";

/**
 * The events `convert` makes of each native line of `setup`, one part per event (Ollama flushes
 * each), the events of one line sharing its delay; the stream ends where the generation fails.
 */
export function* convertedEventParts(
  setup: GenerationSetup,
  convert: (response: NativeResponse) => readonly StreamEvent[],
): Generator<BodyPart, void, undefined> {
  for (const step of setup.timeline.steps()) {
    const response = nativeResponse(step, setup.plan);
    if (response === undefined) return;
    let delayMs = step.delayMs;
    for (const { event, json } of convert(response)) {
      yield textPart(sseEvent(event, json), delayMs);
      delayMs = 0;
    }
  }
}

/**
 * A 200 `text/event-stream` answer of `parts`, chunked, with `Cache-Control: no-cache` and
 * `Connection: keep-alive`.
 */
export function eventStreamReply(parts: Iterable<BodyPart>): Reply {
  return {
    status: 200,
    headers: { "content-type": "text/event-stream", ...EVENT_STREAM_HEADERS },
    parts,
    framing: "chunked",
  };
}
