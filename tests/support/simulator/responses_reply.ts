/**
 * /v1/responses answers, as Ollama's Responses compatibility layer writes them.
 *
 * @module
 */

import { EVENT_STREAM_HEADERS } from "./event_stream_headers.ts";
import { convertedEventParts, eventStreamReply } from "./event_stream_reply.ts";
import { fixedReply } from "./fixed_reply.ts";
import type { GenerationSetup } from "./generation_setup.ts";
import { openaiError } from "./openai_error.ts";
import { type BodyPart, type Reply, textPart } from "./reply.ts";
import { responsesJsonBody } from "./responses_json_body.ts";
import type { ResponsesEcho } from "./responses_request.ts";
import { ResponsesStreamConverter, type ResponsesStreamIds } from "./responses_stream_converter.ts";
import { sseEvent } from "./sse_event.ts";

/**
 * The answer to a planned Responses generation (`setup` undefined: a request without input,
 * which Ollama answers with the model's load response: empty output text, zero usage).
 *
 * Streaming: `text/event-stream` with `Cache-Control: no-cache` and `Connection: keep-alive`,
 * one write per event (Ollama flushes each), the events of one native line sharing its delay;
 * no `[DONE]`. A mid-stream failure ends the stream where it is (no `response.failed`: Ollama's
 * converter turns the error line into nothing); a failure before any line is a 500
 * OpenAI-shaped error.
 *
 * Not streaming: see {@link responsesJsonBody}, `application/json`.
 */
export function responsesReply(
  setup: GenerationSetup | undefined,
  options: {
    readonly stream: boolean;
    readonly echo: ResponsesEcho;
    readonly ids: ResponsesStreamIds;
    readonly clock: () => number;
  },
): Reply {
  const { echo, ids } = options;
  const timeline = setup?.timeline;
  if (!options.stream) {
    const delayMs = timeline?.totalDelayMs ?? 0;
    if (timeline?.failure !== undefined) return openaiError(500, timeline.failure, { delayMs });
    const plan = setup?.plan ?? {
      thinking: "",
      toolCalls: [],
      text: "",
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    };
    const body = responsesJsonBody(plan, {
      echo,
      responseId: ids.response,
      itemId: ids.item,
      createdAt: Math.floor(options.clock() / 1000),
    });
    return fixedReply(200, body, { contentType: "application/json", delayMs });
  }
  if (timeline?.failsAtStart === true && timeline.failure !== undefined) {
    const error = openaiError(500, timeline.failure, { delayMs: timeline.totalDelayMs });
    return { ...error, headers: { ...EVENT_STREAM_HEADERS, ...error.headers } };
  }
  const converter = new ResponsesStreamConverter(echo, { ids, clock: options.clock });
  const parts = (function* (): Generator<BodyPart, void, undefined> {
    if (setup === undefined) {
      const load = { content: "", thinking: "", toolCalls: [] };
      const done = { reason: "load", promptTokens: 0, outputTokens: 0 };
      for (const { event, json } of converter.process({ ...load, done })) {
        yield textPart(sseEvent(event, json));
      }
      return;
    }
    yield* convertedEventParts(setup, (response) => converter.process(response));
  })();
  return eventStreamReply(parts);
}
