/**
 * The part every observed route shares: read the (small) request body for the fields the metrics
 * need, forward it, and hand Ollama's response back with a tap on its body. Error statuses,
 * bodies without content and bodies compressed by something in front of Ollama are passed on as
 * they are, and counted when they have been passed on whole.
 *
 * @module
 */

import { endpointLabel } from "../endpoint_label.ts";
import { normalizeModelName } from "../model_name.ts";
import type { RouteContext } from "../routes/route.ts";
import { type BodyObserver, tapBody } from "../streams/tap_body.ts";
import { concatBytes } from "../streams/concat_bytes.ts";
import { clientResponse } from "./client_response.ts";
import type { ProxyContext } from "./proxy_context.ts";
import { RequestObservation } from "./request_observation.ts";
import { parseJsonObject } from "./request_json.ts";
import {
  bodyFailureReason,
  errorResponse,
  type ErrorShape,
  upstreamFailure,
} from "./upstream_failure.ts";
import { PassThroughObserver } from "./pass_through_observer.ts";
import type { UpstreamResponse } from "../http1/upstream_response.ts";
import { errorDetail } from "../error_detail.ts";

/** How one observed route differs from the others. */
export interface ObservedExchangeOptions {
  /** The request's route context. */
  readonly route: RouteContext;
  /** The error body shape of the API. */
  readonly shape: ErrorShape;
  /**
   * Returns a replacement request body (the proxy asks Ollama for something extra), or nothing
   * to forward the client's bytes unchanged.
   */
  readonly rewrite?: ((json: Record<string, unknown>) => Uint8Array | undefined) | undefined;
  /** Creates the observer of a successful response body. */
  readonly observe: (
    observation: RequestObservation,
    upstream: UpstreamResponse,
    options: { rewritten: boolean },
  ) => BodyObserver;
}

/**
 * Reads the request body; when the client is gone before it arrived whole, records the request
 * as a disconnect (499) and returns the answer to give instead.
 */
export async function readRequestBody(
  context: ProxyContext,
  request: Request,
  route: RouteContext,
): Promise<Uint8Array | Response> {
  try {
    return await request.bytes();
  } catch {
    const observation = startObservation(context, request, { route, model: "" });
    observation.fail("client_disconnect");
    observation.finish(499);
    return new Response(null, { status: 499 });
  }
}

function startObservation(
  context: ProxyContext,
  request: Request,
  options: { route: RouteContext; model: string; admitOnSuccess?: boolean },
): RequestObservation {
  const { url, start } = options.route;
  return new RequestObservation(context.sinks, {
    method: request.method,
    path: url.pathname,
    endpoint: endpointLabel(url.pathname),
    model: options.model,
    start,
    ...(context.clientOf ? { client: context.clientOf(request) } : {}),
    ...(options.admitOnSuccess === false ? { admitOnSuccess: false } : {}),
  });
}

/**
 * Starts the record of a request and forwards it. Returns Ollama's response with the record, or
 * the finished answer when Ollama could not be reached (502) or the client left first (499).
 */
export async function forwardObserved(
  context: ProxyContext,
  request: Request,
  options: {
    route: RouteContext;
    model: string;
    body?: Uint8Array;
    shape: ErrorShape;
    admitOnSuccess?: boolean;
  },
): Promise<{ observation: RequestObservation; upstream: UpstreamResponse } | Response> {
  const { url } = options.route;
  const observation = startObservation(context, request, options);
  try {
    const upstream = await context.upstream.forward(request, url, {
      ...(options.body ? { body: options.body } : {}),
      clientSignal: request.signal,
    });
    if (upstream.status >= 400) observation.fail("upstream_error");
    return { observation, upstream };
  } catch (error) {
    return upstreamFailure(observation, error, {
      shape: options.shape,
      logger: context.sinks.logger,
      clientGone: request.signal.aborted,
    });
  }
}

/** Proxies one request on an observed route. */
export async function observedExchange(
  context: ProxyContext,
  request: Request,
  options: ObservedExchangeOptions,
): Promise<Response> {
  const body = await readRequestBody(context, request, options.route);
  if (body instanceof Response) return body;
  const json = parseJsonObject(body);
  const replacement = json && options.rewrite ? options.rewrite(json) : undefined;
  const forwarded = await forwardObserved(context, request, {
    route: options.route,
    model: normalizeModelName(json?.model),
    body: replacement ?? body,
    shape: options.shape,
  });
  if (forwarded instanceof Response) return forwarded;
  const { observation, upstream } = forwarded;
  const status = upstream.status;
  const encoded = (upstream.header("content-encoding") ?? "identity") !== "identity";
  const observer = !upstream.hasBody || status >= 400 || encoded
    ? new PassThroughObserver(observation, { status })
    : options.observe(observation, upstream, { rewritten: replacement !== undefined });
  return await answer(upstream, observer, {
    observation,
    shape: options.shape,
    clientGone: () => request.signal.aborted,
  });
}

/**
 * Bodies up to this size with a known length are read whole and answered from memory: for a
 * small JSON answer that is cheaper than passing its chunks through a stream, and they are
 * already complete.
 */
const WHOLE_BODY_LIMIT = 256 * 1024;

/**
 * Answers the client with Ollama's response while `observer` sees its body: read whole when it
 * is small and its length known, else streamed through a tap. A body Ollama breaks off before
 * anything was sent becomes a 502.
 */
export async function answer(
  upstream: UpstreamResponse,
  observer: BodyObserver,
  options: { observation: RequestObservation; shape: ErrorShape; clientGone?: () => boolean },
): Promise<Response> {
  const length = upstream.contentLength;
  if (length === undefined || length > WHOLE_BODY_LIMIT) {
    return clientResponse(upstream, tapBody(upstream, observer));
  }
  let bytes: Uint8Array | null = null;
  if (length > 0) {
    try {
      bytes = await upstream.bytes();
    } catch (error) {
      // Nothing has been sent to the client yet: the client left (its signal closed the upstream
      // connection), Ollama paused past the idle limit, or it went away in the middle.
      if (options.clientGone?.()) {
        options.observation.fail("client_disconnect");
        options.observation.finish(499);
        return new Response(null, { status: 499 });
      }
      const reason = bodyFailureReason(error);
      const status = reason === "upstream_timeout" ? 504 : 502;
      options.observation.fail(reason);
      options.observation.finish(status);
      return errorResponse(errorDetail(error), { shape: options.shape, status });
    }
  }
  const now = performance.now();
  const replaced = bytes ? observer.chunk(bytes, now) : undefined;
  const last = observer.end(now);
  const body = replaced ?? bytes;
  return clientResponse(
    upstream,
    last && last.length > 0 ? (body ? concatBytes([body, last]) : last) : body,
  );
}
