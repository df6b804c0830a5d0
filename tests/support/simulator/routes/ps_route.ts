/**
 * GET /api/ps.
 *
 * @module
 */

import { describeModel } from "../describe_model.ts";
import { goTime } from "../go_time.ts";
import { jsonReply } from "../json_reply.ts";
import { processModel } from "../process_model.ts";
import type { Reply } from "../reply.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/**
 * Loaded models: `{"models":[{name, model, size, digest, details, expires_at, size_vram,
 * context_length}]}`, tracked from use (`loaded: "auto"`) or as configured in `loaded`
 * (unknown names get generated metadata; `expires_at` defaults to five minutes from now).
 */
export function psRoute(_request: RouteRequest, context: RouteContext): Reply {
  const { loaded } = context.options;
  const now = context.receivedAt;
  const models = loaded === "auto" ? context.loaded.list(now) : loaded.map((spec) => {
    const record = context.catalog.find(spec.name) ?? describeModel(spec.name, now);
    return processModel(record, { ...spec, expires_at: spec.expires_at ?? goTime(now + 300_000) });
  });
  return jsonReply(200, { models });
}
