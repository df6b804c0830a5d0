/**
 * How the simulator's configuration and a request shape an embedding answer.
 *
 * @module
 */

import type { ExpectedEmbeddingOptions } from "./expected_embedding.ts";
import type { RouteContext } from "./route_types.ts";

/**
 * The {@link ExpectedEmbeddingOptions} for a request `body` (its `dimensions`) under the
 * simulator's `timings` and `embedDimensions`, and the delay before the answer
 * (`firstTokenDelayMs`, none in fast mode).
 */
export function embedSettings(
  body: Readonly<Record<string, unknown>>,
  context: RouteContext,
): { readonly expected: ExpectedEmbeddingOptions; readonly delayMs: number } {
  const dimensions = body["dimensions"];
  const { options } = context;
  return {
    expected: {
      timings: options.timings,
      ...(typeof dimensions === "number" ? { dimensions } : {}),
      ...(options.embedDimensions === undefined
        ? {}
        : { embedDimensions: options.embedDimensions }),
    },
    delayMs: options.fast ? 0 : options.firstTokenDelayMs,
  };
}
