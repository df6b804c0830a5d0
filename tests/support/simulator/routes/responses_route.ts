/**
 * POST /v1/responses.
 *
 * @module
 */

import { EVENT_STREAM_HEADERS } from "../event_stream_headers.ts";
import { admitGeneration } from "../admit_generation.ts";
import { setupGeneration } from "../generation_setup.ts";
import { openaiError } from "../openai_error.ts";
import type { Reply } from "../reply.ts";
import { requestHashId } from "../request_hash_id.ts";
import { responsesReply } from "../responses_reply.ts";
import { responsesRequest } from "../responses_request.ts";
import type { RouteContext, RouteRequest } from "../route_types.ts";

/**
 * OpenAI Responses (see {@link responsesRequest} for the conversion, {@link responsesReply} for
 * the answer); errors are OpenAI-shaped. Ids (`resp_N`, `msg_N`, `rs_N`, `fc_N_i`) derive from
 * the request body: the same request gets the same ids. A full scheduler queue is a 503.
 */
export async function responsesRoute(request: RouteRequest, context: RouteContext): Promise<Reply> {
  const parsed = responsesRequest(request.text);
  if (!parsed.ok) return openaiError(400, parsed.message, { stage: "middleware" });
  const { ask, stream, echo, loadOnly } = parsed.request;
  const fail = (status: number, message: string): Reply => {
    const error = openaiError(status, message);
    return stream ? { ...error, headers: { ...EVENT_STREAM_HEADERS, ...error.headers } } : error;
  };
  if (ask.model === "") return fail(400, "model is required");
  const result = setupGeneration(ask, context);
  if (!result.ok) return fail(result.status, result.message);
  const admitted = await admitGeneration(result.setup, context, {
    keepAlive: undefined,
    slot: !loadOnly,
  });
  if (!admitted.ok) return fail(admitted.status, admitted.message);
  const number = (salt: string) =>
    parseInt(requestHashId(request.text, { salt, length: 8 }), 16) % 999999;
  const ids = {
    response: `resp_${number("resp")}`,
    item: `msg_${number("msg")}`,
    reasoning: `rs_${number("rs")}`,
    functionCall: `fc_${number("fc")}`,
  };
  return responsesReply(loadOnly ? undefined : admitted.setup, {
    stream,
    echo,
    ids,
    clock: context.clock,
  });
}
