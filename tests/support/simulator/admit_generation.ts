/**
 * A planned generation through Ollama's scheduler: its waits added to the durations it reports.
 *
 * @module
 */

import type { GenerationSetup } from "./generation_setup.ts";
import type { RouteContext } from "./route_types.ts";
import { SERVER_BUSY_MESSAGE } from "./scheduler.ts";

/** Result of {@link admitGeneration}: the setup to answer with, or the error to answer. */
export type AdmitResult =
  | { readonly ok: true; readonly setup: GenerationSetup }
  | { readonly ok: false; readonly status: number; readonly message: string };

/**
 * Waits for the model and, unless `options.slot` is false (a request that only loads the model),
 * a parallel slot. Ollama measures `total_duration` from the request's arrival and
 * `load_duration` up to the moment the scheduler hands the model over, so the scheduler wait is
 * added to both and the slot wait to `total_duration` only. A full queue is a 503 with Ollama's
 * `server busy` text; a client that left gets Ollama's 499 `request canceled` (never sent).
 */
export async function admitGeneration(
  setup: GenerationSetup,
  context: RouteContext,
  options: { readonly keepAlive: unknown; readonly slot?: boolean },
): Promise<AdmitResult> {
  const admission = await context.admit({
    record: setup.record,
    contextLength: setup.plan.contextLength,
    keepAlive: options.keepAlive,
    slot: options.slot !== false,
  });
  if (admission.kind === "busy") return { ok: false, status: 503, message: SERVER_BUSY_MESSAGE };
  if (admission.kind === "gone") return { ok: false, status: 499, message: "request canceled" };
  const { loadWaitNs, slotWaitNs } = admission;
  if (loadWaitNs === 0 && slotWaitNs === 0) return { ok: true, setup };
  const metrics = setup.plan.metrics;
  const plan = {
    ...setup.plan,
    metrics: {
      ...metrics,
      total_duration: metrics.total_duration + loadWaitNs + slotWaitNs,
      load_duration: metrics.load_duration + loadWaitNs,
    },
  };
  return { ok: true, setup: { ...setup, plan } };
}
