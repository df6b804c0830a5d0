/**
 * The response object inside `/v1/responses` stream events (a Go map: keys sorted on the wire).
 *
 * @module
 */

import type { ResponsesEcho } from "./responses_request.ts";

/**
 * The object Ollama's stream converter builds for `response.created`, `response.in_progress`
 * (status `in_progress`, `output:[]`, `usage:null`) and `response.completed` (status
 * `completed`, the final output, or null when there is none, and the usage), echoing the
 * request; encode it with `goMapJson`.
 */
export function responsesStreamObject(
  echo: ResponsesEcho,
  fields: {
    readonly id: string;
    readonly createdAt: number;
    readonly status: string;
    readonly output: readonly unknown[] | null;
    readonly usage: unknown;
    readonly completedAt?: number;
  },
): Record<string, unknown> {
  const reasoning = echo.effort === "" && echo.summary === "" ? null : {
    effort: echo.effort === "" ? null : echo.effort,
    summary: echo.summary === "" ? null : echo.summary,
  };
  const format = echo.textFormat;
  const textFormat: Record<string, unknown> = { type: format["type"] ?? "" };
  for (const key of ["name", "schema", "strict"]) {
    if (format[key] !== undefined && format[key] !== null && format[key] !== "") {
      textFormat[key] = format[key];
    }
  }
  return {
    id: fields.id,
    object: "response",
    created_at: fields.createdAt,
    completed_at: fields.completedAt ?? null,
    status: fields.status,
    incomplete_details: null,
    model: echo.model,
    previous_response_id: null,
    instructions: echo.instructions === "" ? null : echo.instructions,
    output: fields.output,
    error: null,
    tools: echo.tools.map((tool) => ({
      type: tool["type"] ?? "",
      name: tool["name"] ?? "",
      description: tool["description"] ?? null,
      strict: tool["strict"] ?? null,
      parameters: tool["parameters"] ?? null,
    })),
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
    usage: fields.usage,
    max_output_tokens: echo.maxOutputTokens,
    max_tool_calls: null,
    store: false,
    background: echo.background,
    service_tier: "default",
    metadata: {},
    safety_identifier: null,
    prompt_cache_key: null,
  };
}
