/**
 * An embedding request through Ollama's scheduler.
 *
 * @module
 */

import type { ModelRecord } from "./describe_model.ts";
import { loadedContextLength } from "./model_context.ts";
import type { RouteContext } from "./route_types.ts";
import { SERVER_BUSY_MESSAGE } from "./scheduler.ts";

/** Result of {@link admitEmbedding}: the waits to add to the durations, or the error to answer. */
export type EmbeddingAdmission =
  | { readonly ok: true; readonly loadWaitNs: number; readonly slotWaitNs: number }
  | { readonly ok: false; readonly status: number; readonly message: string };

/**
 * Waits for `record` loaded with `options.numCtx` (absent: Ollama's default) and, when there is
 * input to embed (`options.slot`), a parallel slot; Ollama schedules before it looks at the
 * input. A full queue is a 503 with Ollama's `server busy` text.
 */
export async function admitEmbedding(
  record: ModelRecord,
  context: RouteContext,
  options: { readonly keepAlive: unknown; readonly numCtx?: number; readonly slot: boolean },
): Promise<EmbeddingAdmission> {
  const admission = await context.admit({
    record,
    contextLength: loadedContextLength(record.contextLength, options.numCtx),
    keepAlive: options.keepAlive,
    slot: options.slot,
  });
  if (admission.kind === "busy") return { ok: false, status: 503, message: SERVER_BUSY_MESSAGE };
  if (admission.kind === "gone") return { ok: false, status: 499, message: "request canceled" };
  return { ok: true, loadWaitNs: admission.loadWaitNs, slotWaitNs: admission.slotWaitNs };
}
