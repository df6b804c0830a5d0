/**
 * The non-streaming `/v1/responses` answer, in Ollama's Go struct field order.
 *
 * @module
 */

import type { ExpectedCompletion } from "./expected_completion.ts";
import { goJson } from "./go_json.ts";
import { goMapJson } from "./go_map_json.ts";
import type { ResponsesEcho } from "./responses_request.ts";

/**
 * `ToResponse`: `id, object, created_at, completed_at, status:"completed", …, output, …, usage,
 * …`; output is a reasoning item (`rs_<response id>`) when the model thought, then either one
 * `function_call` item per tool call (`fc_<response id>_<i>`) or one message item (`msg_…`)
 * holding the answer text, even empty. JSON text with the trailing newline of Go's encoder.
 */
export function responsesJsonBody(
  plan: Pick<ExpectedCompletion, "thinking" | "toolCalls" | "text" | "usage">,
  fields: {
    readonly echo: ResponsesEcho;
    readonly responseId: string;
    readonly itemId: string;
    readonly createdAt: number;
  },
): string {
  const { echo, responseId } = fields;
  const output: unknown[] = [];
  if (plan.thinking !== "") {
    output.push({
      id: `rs_${responseId}`,
      type: "reasoning",
      summary: [{ type: "summary_text", text: plan.thinking }],
      encrypted_content: plan.thinking,
    });
  }
  if (plan.toolCalls.length > 0) {
    plan.toolCalls.forEach((call, index) => {
      output.push({
        id: `fc_${responseId}_${index}`,
        type: "function_call",
        status: "completed",
        call_id: call.id,
        name: call.name,
        arguments: goJson(call.arguments),
      });
    });
  } else {
    output.push({
      id: fields.itemId,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: plan.text, annotations: [], logprobs: [] }],
    });
  }
  const format = echo.textFormat;
  const textFormat: Record<string, unknown> = { type: format["type"] ?? "" };
  if (typeof format["name"] === "string" && format["name"] !== "") {
    textFormat["name"] = format["name"];
  }
  if (format["schema"] !== undefined && format["schema"] !== null) {
    textFormat["schema"] = format["schema"];
  }
  if (typeof format["strict"] === "boolean") textFormat["strict"] = format["strict"];
  const reasoning = echo.effort === "" && echo.summary === "" ? null : {
    ...(echo.effort === "" ? {} : { effort: echo.effort }),
    ...(echo.summary === "" ? {} : { summary: echo.summary }),
  };
  const { prompt_tokens: input, completion_tokens: outputTokens } = plan.usage;
  const tools = echo.tools.map((tool) =>
    `{"type":${goJson(tool["type"] ?? "")},"name":${goJson(tool["name"] ?? "")},` +
    `"description":${goJson(tool["description"] ?? null)},"strict":${
      goJson(tool["strict"] ?? null)
    },` +
    `"parameters":${goMapJson(tool["parameters"] ?? null)}}`
  );
  const head = goJson({
    id: responseId,
    object: "response",
    created_at: fields.createdAt,
    completed_at: fields.createdAt,
    status: "completed",
    incomplete_details: null,
    model: echo.model,
    previous_response_id: null,
    instructions: echo.instructions === "" ? null : echo.instructions,
    output,
    error: null,
  });
  const tail = goJson({
    tool_choice: "auto",
    truncation: echo.truncation,
    parallel_tool_calls: true,
    text: { format: textFormat },
    top_p: echo.topP,
    presence_penalty: 0,
    frequency_penalty: 0,
    top_logprobs: 0,
    temperature: echo.temperature,
    reasoning,
    usage: {
      input_tokens: input,
      output_tokens: outputTokens,
      total_tokens: input + outputTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    },
    max_output_tokens: echo.maxOutputTokens,
    max_tool_calls: null,
    store: false,
    background: echo.background,
    service_tier: "default",
    metadata: {},
    safety_identifier: null,
    prompt_cache_key: null,
  });
  return `${head.slice(0, -1)},"tools":[${tools.join(",")}],${tail.slice(1)}\n`;
}
