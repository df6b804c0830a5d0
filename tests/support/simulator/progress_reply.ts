/**
 * NDJSON progress streams (pull, push, create).
 *
 * @module
 */

import { goJson } from "./go_json.ts";
import { fixedReply } from "./fixed_reply.ts";
import { type Reply, textPart } from "./reply.ts";
import type { RouteContext } from "./route_types.ts";
import { DEFAULT_FAILURE_MESSAGE } from "./simulator_options.ts";
import { streamReply } from "./stream_reply.ts";

/** One progress object in Go field order (zero-valued fields left out). */
export interface Progress {
  readonly status: string;
  readonly digest?: string;
  readonly total?: number;
  readonly completed?: number;
}

/** How a progress stream goes. */
export interface ProgressPlan {
  /** `stream` of the request (absent means true). */
  readonly stream: boolean;
  readonly steps: readonly Progress[];
  /** An error that ends the stream after every step. */
  readonly error?: string;
  /** Runs when the `success` step is written (e.g. installs the model). */
  readonly onSuccess: () => void;
}

/**
 * Streams `steps` as `application/x-ndjson`, one line every `pullIntervalMs`. An error (from
 * `plan.error`, or `failMidStream` after `afterChunks` lines) is a final `{"error":"..."}` line
 * with status 200, or a 500 when it comes before any line. `stream:false` answers after the
 * whole time with only `{"status":"success"}` (or the 500 error), `application/json` (no
 * charset) as Ollama's `waitForStream` writes it.
 */
export function progressReply(plan: ProgressPlan, context: RouteContext): Reply {
  const { steps } = plan;
  const interval = context.options.fast ? 0 : context.options.pullIntervalMs;
  const failure = context.options.failMidStream;
  const cut = plan.error !== undefined ? steps.length : failure?.afterChunks;
  const failing = cut !== undefined && cut <= steps.length;
  const message = plan.error ?? failure?.message ?? DEFAULT_FAILURE_MESSAGE;
  // Ollama sets `application/json` before it knows the outcome, so gin's c.JSON keeps it.
  const json = (status: number, value: unknown, delayMs = 0) =>
    fixedReply(status, goJson(value), { contentType: "application/json", delayMs });
  if (!plan.stream) {
    const delayMs = interval * steps.length;
    if (failing) return json(500, { error: message }, delayMs);
    plan.onSuccess();
    return json(200, { status: "success" }, delayMs);
  }
  if (failing && cut === 0) return json(500, { error: message });
  return streamReply(
    "application/x-ndjson",
    (function* () {
      const count = failing ? cut : steps.length;
      for (let i = 0; i < count; i++) {
        const step = steps[i] as Progress;
        if (step.status === "success") plan.onSuccess();
        yield textPart(`${goJson(step)}\n`, i === 0 ? 0 : interval);
      }
      if (failing) yield textPart(`${goJson({ error: message })}\n`, interval);
    })(),
  );
}
