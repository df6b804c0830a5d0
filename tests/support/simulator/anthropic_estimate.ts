/**
 * The rough input-token estimate Ollama puts in a Messages stream's `message_start`.
 *
 * @module
 */

import { goJson } from "./go_json.ts";
import { goMapJson } from "./go_map_json.ts";

const ENCODER = new TextEncoder();

/**
 * Ollama's `anthropic.EstimateInputTokens` for a request `body` (the decoded JSON): the UTF-8
 * length of the system prompt, of each message's role and text / thinking (tool blocks: their
 * JSON), and of each tool's name, description and input schema, divided by 4 (at least 1 when
 * there are messages or a system prompt). The schema counts as the compact JSON of the decoded
 * value, which equals the bytes sent when the client sent compact JSON.
 */
export function anthropicInputEstimate(body: Readonly<Record<string, unknown>>): number {
  let total = 0;
  const system = body["system"];
  if (typeof system === "string") total += bytes(system);
  else if (Array.isArray(system)) { for (const block of system) total += blockLength(block); }
  else if (system !== undefined && system !== null) total += bytes(goMapJson(system));
  const messages = Array.isArray(body["messages"]) ? body["messages"] : [];
  for (const message of messages) {
    if (message === null || typeof message !== "object") continue;
    const record = message as Record<string, unknown>;
    total += typeof record["role"] === "string" ? bytes(record["role"]) : 0;
    const content = record["content"];
    if (typeof content === "string") total += bytes(content);
    else if (Array.isArray(content)) { for (const block of content) total += blockLength(block); }
  }
  const tools = Array.isArray(body["tools"]) ? body["tools"] : [];
  for (const tool of tools) {
    if (tool === null || typeof tool !== "object") continue;
    const record = tool as Record<string, unknown>;
    for (const field of ["name", "description"]) {
      const value = record[field];
      if (typeof value === "string") total += bytes(value);
    }
    if (record["input_schema"] !== undefined) {
      total += bytes(JSON.stringify(record["input_schema"]));
    }
  }
  const tokens = Math.floor(total / 4);
  if (tokens === 0 && (messages.length > 0 || (system !== undefined && system !== null))) return 1;
  return tokens;
}

function blockLength(block: unknown): number {
  if (block === null || typeof block !== "object") return 0;
  const record = block as Record<string, unknown>;
  let total = 0;
  if (typeof record["text"] === "string") total += bytes(record["text"]);
  if (typeof record["thinking"] === "string") total += bytes(record["thinking"]);
  const type = record["type"];
  if (type === "tool_use" || type === "tool_result") total += bytes(blockJson(record));
  return total;
}

/** A content block as Go marshals `anthropic.ContentBlock` (struct order, empty fields left out). */
function blockJson(block: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  const add = (key: string, json: string) => parts.push(`${goJson(key)}:${json}`);
  add("type", goJson(block["type"] ?? ""));
  if (typeof block["text"] === "string") add("text", goJson(block["text"]));
  for (const key of ["id", "name"]) {
    if (typeof block[key] === "string" && block[key] !== "") add(key, goJson(block[key]));
  }
  const input = block["input"];
  if (input !== null && typeof input === "object" && Object.keys(input).length > 0) {
    add("input", goJson(input));
  }
  if (typeof block["tool_use_id"] === "string" && block["tool_use_id"] !== "") {
    add("tool_use_id", goJson(block["tool_use_id"]));
  }
  const content = block["content"];
  if (content !== undefined && content !== null && content !== "") {
    add("content", goMapJson(content));
  }
  if (block["is_error"] === true) add("is_error", "true");
  if (typeof block["thinking"] === "string") add("thinking", goJson(block["thinking"]));
  return `{${parts.join(",")}}`;
}

function bytes(text: string): number {
  return ENCODER.encode(text).length;
}
