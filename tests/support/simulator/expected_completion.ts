/**
 * What the simulator will answer to a generation, computed without a server, so tests can assert
 * exact token texts, counts and durations.
 *
 * @module
 */

import { describeModel } from "./describe_model.ts";
import {
  type PlannedToolCall,
  plannedToolCall,
  SCRIPTED_TOOL_NAME,
  SCRIPTED_TOOL_TOKENS,
} from "./planned_tool_call.ts";
import { loadedContextLength } from "./model_context.ts";
import type { CountedMessage } from "./prompt_tokens.ts";
import { responseTokens } from "./response_tokens.ts";
import { thinkingTokens } from "./thinking_tokens.ts";
import { truncatedPromptTokens } from "./truncated_prompt_tokens.ts";
import { resolveTimings, type Timings } from "./timings.ts";

/** Answer length in text tokens when nothing limits it. */
export const DEFAULT_RESPONSE_TOKENS = 8;
/** Thinking tokens of a thinking model before its answer. */
export const DEFAULT_THINKING_TOKENS = 5;

/** Knobs that change the computed answer; the simulator passes its own configuration here. */
export interface ExpectedCompletionOptions {
  /**
   * `options.num_predict` (native), `max_tokens`, `max_output_tokens`. Absent, 0 or negative:
   * no limit (Ollama treats 0 as "unlimited").
   */
  readonly numPredict?: number;
  /**
   * `options.num_ctx` of a native request: the context the model is loaded with (see
   * {@link loadedContextLength}); absent: Ollama's default, 4096.
   */
  readonly numCtx?: number;
  /** `system` of /api/generate; counted like the prompt. */
  readonly system?: string;
  /**
   * The request's thinking switch after the family's mapping (native `think`, OpenAI
   * `reasoning_effort`, Anthropic `thinking.type`, Responses `reasoning.effort`): `false` turns a
   * thinking model's thinking off; absent, `true` or a level leaves it on. Ignored for a model
   * without the `thinking` capability (the routes answer 400 before).
   */
  readonly think?: boolean | string;
  /**
   * Names of the tools the request offers (chat families). Each adds `TOOL_TOKENS` to the prompt;
   * a scripted tool caller emits its call only when `get_weather` is among them.
   */
  readonly tools?: readonly string[];
  /** Natural answer length in text tokens (simulator option `responseTokens`), default 8. */
  readonly responseTokens?: number;
  /** Thinking length of a thinking model (simulator option `thinkingTokens`), default 5. */
  readonly thinkingTokens?: number;
  /** Simulator option `stopsNaturally`: a limit above the natural length does not extend it. */
  readonly stopsNaturally?: boolean;
  /** Duration constants (simulator option `timings`). */
  readonly timings?: Partial<Timings>;
  /** Simulator option `lastTokenInFinalChunk`: the done chunk carries the last token's text. */
  readonly lastTokenInFinalChunk?: boolean;
  /** Capabilities of the model; default: those the simulator gives a model of that name. */
  readonly capabilities?: readonly string[];
  /** Whether the model is a scripted tool caller; default: from its name, like `capabilities`. */
  readonly callsTool?: boolean;
  /** The context length the model was trained for; default: from its name, like `capabilities`. */
  readonly trainedContextLength?: number;
}

/** The numbers a final `done:true` chunk carries, under their wire names. */
export interface CompletionMetrics {
  readonly total_duration: number;
  readonly load_duration: number;
  readonly prompt_eval_count: number;
  readonly prompt_eval_duration: number;
  readonly eval_count: number;
  readonly eval_duration: number;
}

/** What one intermediate chunk of a native stream carries (every family maps them in order). */
export type OutputPiece =
  | { readonly kind: "thinking"; readonly text: string }
  | { readonly kind: "content"; readonly text: string }
  | { readonly kind: "tool_calls"; readonly calls: readonly PlannedToolCall[] };

/** The exact answer the simulator gives to one generation. */
export interface ExpectedCompletion {
  /** The model name as the request gave it (Ollama echoes it). */
  readonly model: string;
  /**
   * Text of every generated token in order (`eval_count` entries): thinking, answer, and ""
   * for the tokens that show nowhere (the end of thinking, the end token).
   */
  readonly tokens: readonly string[];
  /** The intermediate chunks in order: thinking first, then answer text or one tool call. */
  readonly pieces: readonly OutputPiece[];
  /** Answer texts of the intermediate chunks, one per chunk (thinking and tool calls left out). */
  readonly chunks: readonly string[];
  /** Thinking texts of the intermediate chunks, one per chunk. */
  readonly thinkingChunks: readonly string[];
  /** Text carried by the final `done:true` chunk ("" unless `lastTokenInFinalChunk`). */
  readonly finalText: string;
  /** The whole answer text (chunks and final text). */
  readonly text: string;
  /** The whole thinking text. */
  readonly thinking: string;
  /** The tool calls of the answer (one for a scripted tool caller offered `get_weather`). */
  readonly toolCalls: readonly PlannedToolCall[];
  /** `stop` when the answer ended by itself, `length` when the limit cut it. */
  readonly doneReason: "stop" | "length";
  /** Final-chunk numbers; a zero value is omitted on the wire. */
  readonly metrics: CompletionMetrics;
  /** The context length the model is loaded with for this request (`/api/ps` `context_length`). */
  readonly contextLength: number;
  /** What the OpenAI-compatible endpoints report as usage. */
  readonly usage: {
    readonly prompt_tokens: number;
    readonly completion_tokens: number;
    readonly total_tokens: number;
  };
}

/**
 * Computes the answer to a generation of `model` for `input` (a prompt, or chat messages as the
 * families convert them). Token by token:
 *
 * - a plain model writes `responseTokens` answer tokens (cycling through a fixed text), then the
 *   end token: `eval_count` = answer + 1, `doneReason` `stop`;
 * - a thinking model (unless `think: false`) first writes `thinkingTokens` thinking tokens and
 *   one token that ends the thinking (no chunk), then the answer and the end token;
 * - a limit `numPredict` > 0 cuts that sequence after `numPredict` tokens (`length`); without
 *   `stopsNaturally`, a limit beyond the end makes the answer go on until the limit (real
 *   random-weights models almost never stop), so a limit always gives `eval_count` = limit;
 * - a scripted tool caller writes `<tool_call>`, the call as JSON, `</tool_call>` and the end
 *   token, whatever the limit beyond 4: offered `get_weather`, one tool call chunk (once the JSON
 *   token is out) replaces the text; offered other tools only, nothing shows; offered none, the
 *   three tokens are the answer text.
 *
 * The prompt and the answer live in the loaded context ({@link loadedContextLength} of `numCtx`):
 * a prompt longer than it is truncated ({@link truncatedPromptTokens}: `prompt_eval_count` is at
 * most the context length), and, as Ollama caps `num_predict` at 10 times the context, an answer
 * stops at that many tokens (`length`); an answer that overflows the context otherwise goes on
 * (Ollama shifts the context), so prompt plus answer may exceed it.
 *
 * `prompt_eval_count` = `countPromptTokens`, truncated; `load_duration` = `loadNs`;
 * `prompt_eval_duration` = `prompt_eval_count * promptNsPerToken`; `eval_duration` =
 * `eval_count * evalNsPerToken`; `total_duration` = their sum + `overheadNs`.
 */
export function expectedCompletion(
  model: string,
  input: string | readonly CountedMessage[],
  options: ExpectedCompletionOptions = {},
): ExpectedCompletion {
  const timings = resolveTimings(options.timings);
  const described = options.capabilities === undefined || options.callsTool === undefined ||
      options.trainedContextLength === undefined
    ? describeModel(model, 0)
    : undefined;
  const capabilities = options.capabilities ?? described?.capabilities ?? [];
  const callsTool = options.callsTool ?? described?.callsTool ?? false;
  const contextLength = loadedContextLength(
    options.trainedContextLength ?? described?.contextLength ?? 0,
    options.numCtx,
  );
  const asked = options.numPredict !== undefined && options.numPredict >= 1
    ? Math.floor(options.numPredict)
    : undefined;
  const limit = asked === undefined ? undefined : Math.min(asked, 10 * contextLength);
  const tools = options.tools;
  const generated = callsTool
    ? toolCallerTokens(limit, tools, plannedToolCall(`${model}\n${JSON.stringify(input)}`))
    : modelTokens(limit, {
      answer: options.responseTokens ?? DEFAULT_RESPONSE_TOKENS,
      thinking: capabilities.includes("thinking") && options.think !== false
        ? options.thinkingTokens ?? DEFAULT_THINKING_TOKENS
        : undefined,
      stopsNaturally: options.stopsNaturally === true,
      cap: 10 * contextLength,
    });
  const promptEvalCount = truncatedPromptTokens(input, {
    contextLength,
    ...(options.system === undefined ? {} : { system: options.system }),
    ...(tools === undefined ? {} : { tools: tools.length }),
  });
  let pieces = generated.pieces;
  let finalText = "";
  const last = pieces.at(-1);
  if (options.lastTokenInFinalChunk === true && last?.kind === "content") {
    finalText = last.text;
    pieces = pieces.slice(0, -1);
  }
  const evalCount = generated.tokens.length;
  const promptEvalDuration = promptEvalCount * timings.promptNsPerToken;
  const evalDuration = evalCount * timings.evalNsPerToken;
  const chunks = textsOf(pieces, "content");
  return {
    model,
    tokens: generated.tokens,
    pieces,
    chunks,
    thinkingChunks: textsOf(pieces, "thinking"),
    finalText,
    text: chunks.join("") + finalText,
    thinking: textsOf(pieces, "thinking").join(""),
    toolCalls: pieces.flatMap((piece) => piece.kind === "tool_calls" ? piece.calls : []),
    doneReason: generated.doneReason,
    contextLength,
    metrics: {
      total_duration: timings.loadNs + promptEvalDuration + evalDuration + timings.overheadNs,
      load_duration: timings.loadNs,
      prompt_eval_count: promptEvalCount,
      prompt_eval_duration: promptEvalDuration,
      eval_count: evalCount,
      eval_duration: evalDuration,
    },
    usage: {
      prompt_tokens: promptEvalCount,
      completion_tokens: evalCount,
      total_tokens: promptEvalCount + evalCount,
    },
  };
}

interface Generated {
  readonly tokens: string[];
  readonly pieces: OutputPiece[];
  readonly doneReason: "stop" | "length";
}

/**
 * A plain or thinking model: thinking, end of thinking, answer, end token, cut by `limit`, or by
 * `cap` (Ollama's most tokens for a context) when the natural answer is longer.
 */
function modelTokens(
  requested: number | undefined,
  lengths: {
    readonly answer: number;
    readonly thinking: number | undefined;
    readonly stopsNaturally: boolean;
    readonly cap: number;
  },
): Generated {
  const thinks = lengths.thinking !== undefined;
  const thinking = lengths.thinking ?? 0;
  const natural = thinking + (thinks ? 1 : 0) + lengths.answer + 1;
  const limit = requested === undefined && natural > lengths.cap ? lengths.cap : requested;
  const stops = limit === undefined || (lengths.stopsNaturally && limit >= natural);
  const evalCount = stops ? natural : limit;
  const thought = thinkingTokens(Math.min(evalCount, thinking));
  let rest = evalCount - thought.length;
  const separator = thinks && rest > 0 ? [""] : [];
  rest -= separator.length;
  const answer = responseTokens(stops ? lengths.answer : rest);
  const pieces: OutputPiece[] = [
    ...thought.map((text) => ({ kind: "thinking" as const, text })),
    ...answer.map((text) => ({ kind: "content" as const, text })),
  ];
  return {
    tokens: [...thought, ...separator, ...answer, ...(stops ? [""] : [])],
    pieces,
    doneReason: stops ? "stop" : "length",
  };
}

/** The scripted tool caller: three tokens of the call, then the end token. */
function toolCallerTokens(
  limit: number | undefined,
  tools: readonly string[] | undefined,
  call: PlannedToolCall,
): Generated {
  const script = [...SCRIPTED_TOOL_TOKENS, ""];
  const count = limit === undefined ? script.length : Math.min(limit, script.length);
  const tokens = script.slice(0, count);
  let pieces: OutputPiece[];
  if (tools === undefined || tools.length === 0) {
    pieces = tokens.filter((text) => text !== "").map((text) => ({ kind: "content", text }));
  } else if (tools.includes(SCRIPTED_TOOL_NAME) && count >= 2) {
    pieces = [{ kind: "tool_calls", calls: [call] }];
  } else {
    pieces = [];
  }
  return { tokens, pieces, doneReason: count === script.length ? "stop" : "length" };
}

function textsOf(pieces: readonly OutputPiece[], kind: "thinking" | "content"): string[] {
  const texts: string[] = [];
  for (const piece of pieces) if (piece.kind === kind) texts.push(piece.text);
  return texts;
}
