/**
 * Ollama's Responses stream converter: native chat lines in, Responses API events out.
 *
 * @module
 */

import { goJson } from "./go_json.ts";
import { goMapJson } from "./go_map_json.ts";
import type { NativeResponse } from "./native_response.ts";
import type { ResponsesEcho } from "./responses_request.ts";
import { responsesStreamObject } from "./responses_stream_object.ts";
import type { StreamEvent } from "./sse_event.ts";

/** Ids of one streamed answer (Ollama draws them at random; the simulator derives them). */
export interface ResponsesStreamIds {
  /** `resp_N`. */
  readonly response: string;
  /** `msg_N`, the message item. */
  readonly item: string;
  /** `rs_N`, the reasoning item. */
  readonly reasoning: string;
  /** `fc_N`, prefix of the function call items (`fc_N_<i>`). */
  readonly functionCall: string;
}

/**
 * Converts the native lines of one answer, in order, as Ollama's `ResponsesStreamConverter`
 * does; every event's data is a Go map (keys sorted) with `type` and `sequence_number` (from 0):
 * `response.created`, `response.in_progress`, then a reasoning item
 * (`response.reasoning_summary_text.delta` per thinking line, closed by `.done` and
 * `response.output_item.done` when the answer starts), then either a message item
 * (`response.content_part.added`, `response.output_text.delta` per line; closed at the end by
 * `response.output_text.done`, `response.content_part.done`, `response.output_item.done`) or a
 * `function_call` item per tool call (`response.function_call_arguments.delta` and `.done`), and
 * `response.completed` with the final output and the usage. Ollama never sends
 * `response.incomplete`: an answer cut by `max_output_tokens` completes too.
 */
export class ResponsesStreamConverter {
  #echo: ResponsesEcho;
  #ids: ResponsesStreamIds;
  #clock: () => number;
  #first = true;
  #outputIndex = 0;
  #contentStarted = false;
  #toolCallsSent = false;
  #text = "";
  #sequence = 0;
  #thinking = "";
  #reasoningStarted = false;
  #reasoningDone = false;
  #toolCallItems: Record<string, unknown>[] = [];

  /** A converter echoing `echo`, with the answer's `ids`; `clock` gives `created_at`. */
  constructor(
    echo: ResponsesEcho,
    options: { readonly ids: ResponsesStreamIds; readonly clock: () => number },
  ) {
    this.#echo = echo;
    this.#ids = options.ids;
    this.#clock = options.clock;
  }

  /** The events of one native line. */
  process(response: NativeResponse): StreamEvent[] {
    const events: StreamEvent[] = [];
    if (this.#first) {
      this.#first = false;
      for (const type of ["response.created", "response.in_progress"]) {
        events.push(this.#event(type, { response: this.#object("in_progress", [], null) }));
      }
    }
    if (response.thinking !== "") events.push(...this.#thinkingEvents(response.thinking));
    if (response.toolCalls.length > 0) {
      events.push(...this.#toolCallEvents(response));
      this.#toolCallsSent = true;
    }
    if (!this.#toolCallsSent && response.content !== "") {
      events.push(...this.#textEvents(response.content));
    }
    if (response.done !== undefined) events.push(...this.#completion(response.done));
    return events;
  }

  #event(type: string, data: Record<string, unknown>): StreamEvent {
    const json = goMapJson({ ...data, type, sequence_number: this.#sequence++ });
    return { event: type, json };
  }

  #object(status: string, output: readonly unknown[] | null, usage: unknown) {
    return responsesStreamObject(this.#echo, {
      id: this.#ids.response,
      createdAt: Math.floor(this.#clock() / 1000),
      status,
      output,
      usage,
    });
  }

  #thinkingEvents(thinking: string): StreamEvent[] {
    const events: StreamEvent[] = [];
    const id = this.#ids.reasoning;
    if (!this.#reasoningStarted) {
      this.#reasoningStarted = true;
      events.push(this.#event("response.output_item.added", {
        output_index: this.#outputIndex,
        item: { id, type: "reasoning", summary: [] },
      }));
    }
    this.#thinking += thinking;
    events.push(this.#event("response.reasoning_summary_text.delta", {
      item_id: id,
      output_index: this.#outputIndex,
      summary_index: 0,
      delta: thinking,
    }));
    return events;
  }

  #reasoningItem(): Record<string, unknown> {
    return {
      id: this.#ids.reasoning,
      type: "reasoning",
      summary: [{ type: "summary_text", text: this.#thinking }],
      encrypted_content: this.#thinking,
    };
  }

  #finishReasoning(): StreamEvent[] {
    if (!this.#reasoningStarted || this.#reasoningDone) return [];
    this.#reasoningDone = true;
    const events = [
      this.#event("response.reasoning_summary_text.done", {
        item_id: this.#ids.reasoning,
        output_index: this.#outputIndex,
        summary_index: 0,
        text: this.#thinking,
      }),
      this.#event("response.output_item.done", {
        output_index: this.#outputIndex,
        item: this.#reasoningItem(),
      }),
    ];
    this.#outputIndex++;
    return events;
  }

  #toolCallEvents(response: NativeResponse): StreamEvent[] {
    const events = this.#finishReasoning();
    response.toolCalls.forEach((call, i) => {
      const id = `${this.#ids.functionCall}_${i}`;
      const args = goJson(call.arguments);
      const item = { id, type: "function_call", call_id: call.id, name: call.name };
      const outputIndex = this.#outputIndex + i;
      const completed = { ...item, status: "completed", arguments: args };
      this.#toolCallItems.push(completed);
      events.push(this.#event("response.output_item.added", {
        output_index: outputIndex,
        item: { ...item, status: "in_progress", arguments: "" },
      }));
      if (args !== "") {
        events.push(this.#event("response.function_call_arguments.delta", {
          item_id: id,
          output_index: outputIndex,
          delta: args,
        }));
      }
      events.push(this.#event("response.function_call_arguments.done", {
        item_id: id,
        output_index: outputIndex,
        arguments: args,
      }));
      events.push(this.#event("response.output_item.done", {
        output_index: outputIndex,
        item: completed,
      }));
    });
    return events;
  }

  #textEvents(content: string): StreamEvent[] {
    const events = this.#finishReasoning();
    const id = this.#ids.item;
    if (!this.#contentStarted) {
      this.#contentStarted = true;
      events.push(this.#event("response.output_item.added", {
        output_index: this.#outputIndex,
        item: { id, type: "message", status: "in_progress", role: "assistant", content: [] },
      }));
      events.push(this.#event("response.content_part.added", {
        item_id: id,
        output_index: this.#outputIndex,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      }));
    }
    this.#text += content;
    events.push(this.#event("response.output_text.delta", {
      item_id: id,
      output_index: this.#outputIndex,
      content_index: 0,
      delta: content,
      logprobs: [],
    }));
    return events;
  }

  #messageItem(): Record<string, unknown> {
    return {
      id: this.#ids.item,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: this.#text, annotations: [], logprobs: [] }],
    };
  }

  #completion(done: NonNullable<NativeResponse["done"]>): StreamEvent[] {
    const events = this.#finishReasoning();
    if (!this.#toolCallsSent && this.#contentStarted) {
      const part = { type: "output_text", text: this.#text, annotations: [], logprobs: [] };
      const at = { item_id: this.#ids.item, output_index: this.#outputIndex, content_index: 0 };
      events.push(
        this.#event("response.output_text.done", { ...at, text: this.#text, logprobs: [] }),
      );
      events.push(this.#event("response.content_part.done", { ...at, part }));
      events.push(this.#event("response.output_item.done", {
        output_index: this.#outputIndex,
        item: this.#messageItem(),
      }));
    }
    const output: unknown[] = [];
    if (this.#reasoningStarted) output.push(this.#reasoningItem());
    if (this.#toolCallItems.length > 0) output.push(...this.#toolCallItems);
    else if (this.#contentStarted) output.push(this.#messageItem());
    const usage = {
      input_tokens: done.promptTokens,
      output_tokens: done.outputTokens,
      total_tokens: done.promptTokens + done.outputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    };
    const response = this.#object("completed", output.length === 0 ? null : output, usage);
    response["completed_at"] = Math.floor(this.#clock() / 1000);
    events.push(this.#event("response.completed", { response }));
    return events;
  }
}
