/**
 * Test helper: what a client must receive when the exporter asked Ollama for usage on the
 * client's behalf (an OpenAI stream without `stream_options.include_usage: true`): the stream
 * Ollama sent with what the request's `include_usage` added taken out again, i.e. the usage-only
 * chunk (`"choices":[]` with a `usage`) and its blank line, and the `usage` member
 * `/v1/completions` puts in every other chunk.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A flat `usage` member as Ollama writes it after another member. */
const USAGE_MEMBER = /,"usage":\{[^{}]*\}/;

/**
 * Removes from an SSE body (as Ollama sent it) what `include_usage` added. A stream that broke
 * before its end has no usage-only chunk; one with more than one is not Ollama's, and throws.
 */
export function withoutInjectedUsage(body: Uint8Array): Uint8Array {
  const lines = decoder.decode(body).match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const kept: string[] = [];
  let usageChunks = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith("data: {")) {
      kept.push(line);
      continue;
    }
    const record = JSON.parse(line.slice(6)) as { choices?: unknown; usage?: unknown };
    if (record.usage === undefined) {
      kept.push(line);
    } else if (Array.isArray(record.choices) && record.choices.length === 0) {
      usageChunks++;
      if (/^\r?\n$/.test(lines[i + 1] ?? "")) i++; // its blank line goes too
    } else {
      const stripped = line.replace(USAGE_MEMBER, "");
      if (stripped === line) throw new Error(`withoutInjectedUsage: cannot strip ${line}`);
      kept.push(stripped);
    }
  }
  if (usageChunks > 1) {
    throw new Error(`withoutInjectedUsage: ${usageChunks} usage-only chunks, expected 1`);
  }
  return encoder.encode(kept.join(""));
}
