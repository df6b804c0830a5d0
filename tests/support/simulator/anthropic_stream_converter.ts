/**
 * Ollama's Anthropic stream converter: native chat lines in, Messages API events out.
 *
 * @module
 */

import { anthropicStopReason } from "./anthropic_stop_reason.ts";
import { goJson } from "./go_json.ts";
import type { NativeResponse } from "./native_response.ts";
import type { StreamEvent } from "./sse_event.ts";

/**
 * Converts the native lines of one answer, in order, as Ollama's `anthropic.StreamConverter`
 * does: `message_start` first (its `input_tokens` is the estimate unless the first line already
 * carries the real count), a `thinking` block then a `text` block (the thinking block is closed
 * when text or a tool call starts), each tool call as a `tool_use` block with one
 * `input_json_delta`, and on the final line the closing `content_block_stop`, `message_delta`
 * (the real `usage` and the `stop_reason`) and `message_stop`.
 */
export class AnthropicStreamConverter {
  #id: string;
  #model: string;
  #estimate: number;
  #first = true;
  #index = 0;
  #thinkingStarted = false;
  #thinkingDone = false;
  #textStarted = false;
  #toolCalls = 0;

  /** A converter for the message `id` of `model`, whose input the request estimates. */
  constructor(
    id: string,
    options: { readonly model: string; readonly estimatedInputTokens: number },
  ) {
    this.#id = id;
    this.#model = options.model;
    this.#estimate = options.estimatedInputTokens;
  }

  /** The events of one native line. */
  process(response: NativeResponse): StreamEvent[] {
    const events: StreamEvent[] = [];
    const emit = (event: string, value: unknown) => events.push({ event, json: goJson(value) });
    const stop = () =>
      emit("content_block_stop", { type: "content_block_stop", index: this.#index });
    if (this.#first) {
      this.#first = false;
      const real = response.done?.promptTokens ?? 0;
      emit("message_start", {
        type: "message_start",
        message: {
          id: this.#id,
          type: "message",
          role: "assistant",
          model: this.#model,
          content: [],
          usage: { input_tokens: real === 0 ? this.#estimate : real, output_tokens: 0 },
        },
      });
    }
    if (response.thinking !== "" && !this.#thinkingDone) {
      if (!this.#thinkingStarted) {
        this.#thinkingStarted = true;
        emit("content_block_start", {
          type: "content_block_start",
          index: this.#index,
          content_block: { type: "thinking", thinking: "" },
        });
      }
      emit("content_block_delta", {
        type: "content_block_delta",
        index: this.#index,
        delta: { type: "thinking_delta", thinking: response.thinking },
      });
    }
    if (response.content !== "") {
      if (this.#thinkingStarted && !this.#thinkingDone) {
        this.#thinkingDone = true;
        stop();
        this.#index++;
      }
      if (!this.#textStarted) {
        this.#textStarted = true;
        emit("content_block_start", {
          type: "content_block_start",
          index: this.#index,
          content_block: { type: "text", text: "" },
        });
      }
      emit("content_block_delta", {
        type: "content_block_delta",
        index: this.#index,
        delta: { type: "text_delta", text: response.content },
      });
    }
    for (const call of response.toolCalls) {
      if (this.#thinkingStarted && !this.#thinkingDone) {
        this.#thinkingDone = true;
        stop();
        this.#index++;
      }
      if (this.#textStarted) {
        stop();
        this.#index++;
        this.#textStarted = false;
      }
      emit("content_block_start", {
        type: "content_block_start",
        index: this.#index,
        content_block: { type: "tool_use", id: call.id, name: call.name, input: {} },
      });
      emit("content_block_delta", {
        type: "content_block_delta",
        index: this.#index,
        delta: { type: "input_json_delta", partial_json: goJson(call.arguments) },
      });
      stop();
      this.#toolCalls++;
      this.#index++;
    }
    const done = response.done;
    if (done !== undefined) {
      if (this.#textStarted || (this.#thinkingStarted && !this.#thinkingDone)) stop();
      const reason = anthropicStopReason(done.reason, this.#toolCalls > 0);
      emit("message_delta", {
        type: "message_delta",
        delta: reason === "" ? {} : { stop_reason: reason },
        usage: { input_tokens: done.promptTokens, output_tokens: done.outputTokens },
      });
      emit("message_stop", { type: "message_stop" });
    }
    return events;
  }
}
