/**
 * The names of the tools a request offers, in any family's tool shape.
 *
 * @module
 */

/**
 * Names of `tools`: `{type:"function", function:{name}}` (native and OpenAI chat) or
 * `{name}` (Anthropic, Responses); undefined when the request offers none.
 */
export function toolNames(tools: unknown): string[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return tools.map((tool) => {
    if (tool === null || typeof tool !== "object") return "";
    const record = tool as Record<string, unknown>;
    const nested = record["function"];
    const source = nested !== null && typeof nested === "object"
      ? nested as Record<string, unknown>
      : record;
    return typeof source["name"] === "string" ? source["name"] : "";
  });
}
