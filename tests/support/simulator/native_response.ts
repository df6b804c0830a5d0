/**
 * One native chat line as Ollama's Anthropic and Responses converters receive it.
 *
 * @module
 */

import type { ExpectedCompletion } from "./expected_completion.ts";
import type { GenerationStep } from "./generation_timeline.ts";
import type { PlannedToolCall } from "./planned_tool_call.ts";

/** The fields of an `api.ChatResponse` the converters read. */
export interface NativeResponse {
  /** `message.content`. */
  readonly content: string;
  /** `message.thinking`. */
  readonly thinking: string;
  /** `message.tool_calls`. */
  readonly toolCalls: readonly PlannedToolCall[];
  /** Present on the final line. */
  readonly done?: {
    readonly reason: string;
    readonly promptTokens: number;
    readonly outputTokens: number;
  };
}

/**
 * The native line of a timeline step, or undefined for an error step: the `{"error"}` line
 * decodes to an empty response that the converters turn into no event, so the stream just ends.
 */
export function nativeResponse(
  step: GenerationStep,
  plan: ExpectedCompletion,
): NativeResponse | undefined {
  if (step.kind === "error") return undefined;
  if (step.kind === "done") {
    return {
      content: step.text,
      thinking: "",
      toolCalls: [],
      done: {
        reason: plan.doneReason,
        promptTokens: plan.metrics.prompt_eval_count,
        outputTokens: plan.metrics.eval_count,
      },
    };
  }
  const { piece } = step;
  return {
    content: piece.kind === "content" ? piece.text : "",
    thinking: piece.kind === "thinking" ? piece.text : "",
    toolCalls: piece.kind === "tool_calls" ? piece.calls : [],
  };
}
