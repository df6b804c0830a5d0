/**
 * /v1/messages answers, as Ollama's Anthropic compatibility layer writes them.
 *
 * @module
 */

import { anthropicError } from "./anthropic_error.ts";
import { anthropicStopReason } from "./anthropic_stop_reason.ts";
import { AnthropicStreamConverter } from "./anthropic_stream_converter.ts";
import { convertedEventParts, eventStreamReply } from "./event_stream_reply.ts";
import { fixedReply } from "./fixed_reply.ts";
import type { GenerationSetup } from "./generation_setup.ts";
import { goJson } from "./go_json.ts";
import type { Reply } from "./reply.ts";

/** Ids of one answer, derived from the request. */
export interface AnthropicIds {
  /** 24 hex digits after `msg_`. */
  readonly message: string;
  /** 24 hex digits after `req_` (errors). */
  readonly request: string;
}

/**
 * The answer to a planned Messages generation.
 *
 * Streaming: `text/event-stream` with `Cache-Control: no-cache` and `Connection: keep-alive`,
 * one write per event (Ollama flushes each); the events of one native line share its delay. A
 * mid-stream failure ends the stream where it is (no `message_delta`, no `message_stop`, no
 * error event: Ollama's converter turns the error line into nothing); a failure before any line
 * is a 500 Anthropic-shaped error.
 *
 * Not streaming: `{id, type:"message", role, model, content:[thinking?, text?, tool_use...],
 * stop_reason, usage:{input_tokens, output_tokens}}`, `application/json` with a newline.
 */
export function anthropicReply(
  setup: GenerationSetup,
  options: { readonly stream: boolean; readonly ids: AnthropicIds; readonly estimate: number },
): Reply {
  const { plan, timeline } = setup;
  const { ids } = options;
  if (!options.stream) {
    const delayMs = timeline.totalDelayMs;
    if (timeline.failure !== undefined) {
      return anthropicError(500, timeline.failure, { requestId: ids.request, delayMs });
    }
    const content: unknown[] = [];
    if (plan.thinking !== "") content.push({ type: "thinking", thinking: plan.thinking });
    if (plan.text !== "") content.push({ type: "text", text: plan.text });
    for (const call of plan.toolCalls) {
      content.push({ type: "tool_use", id: call.id, name: call.name, input: call.arguments });
    }
    const reason = anthropicStopReason(plan.doneReason, plan.toolCalls.length > 0);
    const body = goJson({
      id: `msg_${ids.message}`,
      type: "message",
      role: "assistant",
      model: plan.model,
      content: content.length === 0 ? null : content,
      ...(reason === "" ? {} : { stop_reason: reason }),
      usage: {
        input_tokens: plan.usage.prompt_tokens,
        output_tokens: plan.usage.completion_tokens,
      },
    });
    return fixedReply(200, `${body}\n`, { contentType: "application/json", delayMs });
  }
  if (timeline.failsAtStart && timeline.failure !== undefined) {
    return anthropicError(500, timeline.failure, {
      requestId: ids.request,
      stream: true,
      delayMs: timeline.totalDelayMs,
    });
  }
  const converter = new AnthropicStreamConverter(`msg_${ids.message}`, {
    model: plan.model,
    estimatedInputTokens: options.estimate,
  });
  return eventStreamReply(convertedEventParts(setup, (response) => converter.process(response)));
}
