/**
 * The answer of /api/generate and /api/chat to a request without prompt or messages.
 *
 * @module
 */

import { goTime } from "./go_time.ts";
import { jsonReply } from "./json_reply.ts";
import { keepAliveMs } from "./keep_alive.ts";
import { type NativeKind, nativeObject } from "./native_object.ts";
import type { Reply } from "./reply.ts";
import type { RouteContext } from "./route_types.ts";

/**
 * One `application/json; charset=utf-8` object with `done:true` and `done_reason` `load`
 * (`unload` when `keep_alive` is 0), no counts, whatever `stream` says, as Ollama answers an
 * empty prompt or an empty message list.
 */
export function nativeLoadReply(
  kind: NativeKind,
  context: RouteContext,
  options: { readonly model: string; readonly keepAlive: unknown },
): Reply {
  const reason = keepAliveMs(options.keepAlive) === 0 ? "unload" : "load";
  return jsonReply(
    200,
    nativeObject(kind, {
      model: options.model,
      createdAt: goTime(context.clock()),
      text: "",
      done: { reason },
    }),
  );
}
