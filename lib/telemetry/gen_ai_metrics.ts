/**
 * The OpenTelemetry GenAI metric instruments (semantic conventions, "Generative AI metrics"), with
 * the bucket boundaries the conventions advise. They receive the same observations as the
 * `/metrics` families they mirror, at the same moment.
 *
 * @module
 */

import type { Histogram, Meter } from "@opentelemetry/api";
import { GEN_AI_BUCKETS } from "../gen_ai_buckets.ts";

/** The attributes of a GenAI measurement (`gen_ai.*`, `server.*`, `error.type`). */
export type GenAiAttributes = Readonly<Record<string, string | number>>;

/** What one finished GenAI request measured; absent fields were not measured. */
export interface GenAiMeasurement {
  /** Request to last byte, in seconds (`ollama_response_seconds`). */
  readonly seconds: number;
  /** Request to first output chunk, in seconds (`ollama_time_to_first_token_seconds`). */
  readonly firstTokenSeconds?: number;
  /** Mean gap between output chunks, in seconds (`ollama_time_per_output_token_seconds`). */
  readonly timePerOutputToken?: number;
  /** Prompt tokens Ollama reported (`ollama_tokens_processed_total`). */
  readonly inputTokens?: number;
  /** Output tokens Ollama reported (`ollama_tokens_generated_total`). */
  readonly outputTokens?: number;
}

/** The five GenAI histograms. */
export class GenAiMetrics {
  #tokenUsage: Histogram;
  #operationDuration: Histogram;
  #requestDuration: Histogram;
  #firstToken: Histogram;
  #perOutputToken: Histogram;

  /** Creates the instruments on `meter`. */
  constructor(meter: Meter) {
    this.#tokenUsage = meter.createHistogram("gen_ai.client.token.usage", {
      unit: "{token}",
      description: "Number of input and output tokens used.",
      advice: { explicitBucketBoundaries: [...GEN_AI_BUCKETS.tokens] },
    });
    this.#operationDuration = meter.createHistogram("gen_ai.client.operation.duration", {
      unit: "s",
      description: "GenAI operation duration.",
      advice: { explicitBucketBoundaries: [...GEN_AI_BUCKETS.duration] },
    });
    this.#requestDuration = meter.createHistogram("gen_ai.server.request.duration", {
      unit: "s",
      description:
        "Generative AI server request duration such as time-to-last byte or last output token.",
      advice: { explicitBucketBoundaries: [...GEN_AI_BUCKETS.duration] },
    });
    this.#firstToken = meter.createHistogram("gen_ai.server.time_to_first_token", {
      unit: "s",
      description: "Time to generate first token for successful responses.",
      advice: { explicitBucketBoundaries: [...GEN_AI_BUCKETS.firstToken] },
    });
    this.#perOutputToken = meter.createHistogram("gen_ai.server.time_per_output_token", {
      unit: "s",
      description:
        "Time per output token generated after the first token for successful responses.",
      advice: { explicitBucketBoundaries: [...GEN_AI_BUCKETS.perOutputToken] },
    });
  }

  /**
   * Records one request's measurements with `attributes` (operation, provider, model, server and,
   * on failure, `error.type`). Token counts get `gen_ai.token.type` added.
   */
  record(measured: GenAiMeasurement, attributes: GenAiAttributes): void {
    this.#operationDuration.record(measured.seconds, attributes);
    this.#requestDuration.record(measured.seconds, attributes);
    if (measured.firstTokenSeconds !== undefined) {
      this.#firstToken.record(measured.firstTokenSeconds, attributes);
    }
    if (measured.timePerOutputToken !== undefined) {
      this.#perOutputToken.record(measured.timePerOutputToken, attributes);
    }
    if (measured.inputTokens !== undefined) {
      this.#tokenUsage.record(measured.inputTokens, {
        ...attributes,
        "gen_ai.token.type": "input",
      });
    }
    if (measured.outputTokens !== undefined) {
      this.#tokenUsage.record(measured.outputTokens, {
        ...attributes,
        "gen_ai.token.type": "output",
      });
    }
  }
}
