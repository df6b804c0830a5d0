/**
 * The part every observed route shares: scan the request body for the fields the metrics need
 * while it is forwarded (a small body read whole, a large one streamed in bounded memory, see
 * {@linkcode ScannedRequestBody}), refuse one over the size limit with 413, and hand Ollama's
 * response back with a tap on its body. Error statuses, bodies without content and bodies
 * compressed by something in front of Ollama are passed on as they are, and counted when they
 * have been passed on whole.
 *
 * @module
 */

import { endpointLabel } from "../endpoint_label.ts";
import { normalizeModelName } from "../model_name.ts";
import { type BodyObserver, tapBody } from "../streams/tap_body.ts";
import { concatBytes } from "../streams/concat_bytes.ts";
import { clientResponse } from "./client_response.ts";
import type { ProxyContext, RouteContext } from "./proxy_context.ts";
import { bodyFailureReason, RequestObservation } from "../observe/request_observation.ts";
import { type BodyInsertion, ScannedRequestBody } from "./scanned_request_body.ts";
import {
  clientLeft,
  errorBody,
  errorResponse,
  type ErrorShape,
  upstreamFailure,
} from "./upstream_failure.ts";
import { PassThroughObserver } from "../observe/pass_through_observer.ts";
import type { UpstreamResponse } from "../http1/upstream_response.ts";
import { errorDetail } from "../error_detail.ts";
import { traceParentOf } from "../trace_parent.ts";

/** How one observed route differs from the others. */
export interface ObservedExchangeOptions {
  /** The request's route context. */
  readonly route: RouteContext;
  /** The error body shape of the API. */
  readonly shape: ErrorShape;
  /**
   * Top-level fields the hooks read from the body besides `model` (e.g. `stream`), captured by
   * the scan.
   */
  readonly fields?: readonly string[];
  /**
   * Returns bytes to insert in front of the body's closing `}` (the proxy asks Ollama for
   * something extra), or nothing to forward the client's bytes unchanged.
   */
  readonly insert?: BodyInsertion | undefined;
  /** Creates the observer of a successful response body. */
  readonly observe: (
    observation: RequestObservation,
    upstream: UpstreamResponse,
    options: { rewritten: boolean },
  ) => BodyObserver;
}

function startObservation(
  context: ProxyContext,
  request: Request,
  options: { route: RouteContext; model: string; admitOnSuccess?: boolean },
): RequestObservation {
  const { url, start } = options.route;
  const traceParent = traceParentOf(request.headers.get("traceparent"));
  return new RequestObservation(context.sinks, {
    method: request.method,
    path: url.pathname,
    endpoint: endpointLabel(url.pathname),
    model: options.model,
    start,
    ...(context.clientOf ? { client: context.clientOf(request) } : {}),
    ...(options.admitOnSuccess === false ? { admitOnSuccess: false } : {}),
    ...(traceParent === undefined ? {} : { traceParent }),
  });
}

/**
 * Starts reading and scanning the request body for `fields` (see
 * {@linkcode ScannedRequestBody.open}). When the body is refused, records the request and
 * returns the answer to give instead: 413 when its `Content-Length` is over the limit, 499 when
 * the client left before it arrived.
 */
export async function openRequestBody(
  context: ProxyContext,
  request: Request,
  options: {
    route: RouteContext;
    shape: ErrorShape;
    fields: readonly string[];
    insert?: BodyInsertion | undefined;
    admitOnSuccess?: boolean;
  },
): Promise<ScannedRequestBody | Response> {
  const opened = await ScannedRequestBody.open(request, {
    keys: options.fields,
    limit: context.limits.maxRequestBytes,
    insert: options.insert,
  });
  if (!(typeof opened === "string")) return opened;
  const observation = startObservation(context, request, { ...options, model: "" });
  if (opened === "too_large") return refuseTooLarge(context, observation, options.shape);
  return clientLeft(observation);
}

/**
 * Records a request whose body is over the size limit and answers it with 413, in the API's
 * error shape.
 */
export function refuseTooLarge(
  context: ProxyContext,
  observation: RequestObservation,
  shape: ErrorShape,
): Response {
  const limit = context.limits.maxRequestBytes;
  const message =
    `The request body is larger than the exporter's limit of ${limit} bytes (MAX_REQUEST_BYTES)`;
  observation.fail("request_too_large");
  observation.finish(413);
  context.sinks.logger.warn("request too large", { path: observation.info.path, limit });
  const body = errorBody(message, { shape, status: 413, code: "request_too_large" });
  return new Response(body, {
    status: 413,
    headers: { "content-type": "application/json; charset=utf-8", connection: "close" },
  });
}

/** The model a body names: the first of `keys` it has (`model`, or `name` on some routes). */
function modelOf(body: ScannedRequestBody | undefined, keys: readonly string[]): string {
  if (body === undefined) return "";
  for (const key of keys) {
    const value = body.known(key);
    if (value !== undefined && value !== null) return normalizeModelName(value);
  }
  return "";
}

/**
 * Starts the record of a request and forwards it with `body` (or the request's own body, unread,
 * when there is none). The model is taken from the body's `modelKeys` (default `model`) as far as
 * scanned before forwarding, and set again once the body has gone upstream. Returns Ollama's
 * response with the record, or the finished answer when Ollama could not be reached (502), the
 * body grew past the limit (413) or the client left first (499).
 */
export async function forwardObserved(
  context: ProxyContext,
  request: Request,
  options: {
    route: RouteContext;
    body?: ScannedRequestBody;
    modelKeys?: readonly string[];
    shape: ErrorShape;
    admitOnSuccess?: boolean;
  },
): Promise<{ observation: RequestObservation; upstream: UpstreamResponse } | Response> {
  const { url } = options.route;
  const body = options.body;
  const keys = options.modelKeys ?? MODEL_KEYS;
  const observation = startObservation(context, request, {
    ...options,
    model: modelOf(body, keys),
  });
  const traceHeaders = observation.traceHeaders();
  const own = body?.signal;
  const signal = own ? AbortSignal.any([request.signal, own]) : request.signal;
  try {
    const upstream = await context.upstream.forward(request, url, {
      ...(body?.body ? { body: body.body } : {}),
      ...(body?.contentLength !== undefined ? { contentLength: body.contentLength } : {}),
      clientSignal: signal,
      ...(traceHeaders === undefined ? {} : { traceHeaders }),
    });
    if (body?.signal) observation.setModel(modelOf(body, keys));
    return { observation, upstream };
  } catch (error) {
    if (body?.tooLarge) return refuseTooLarge(context, observation, options.shape);
    return upstreamFailure(observation, error, {
      shape: options.shape,
      logger: context.sinks.logger,
      clientGone: request.signal.aborted || body?.clientFailed === true,
    });
  }
}

const MODEL_KEYS = ["model"];

/** Proxies one request on an observed route. */
export async function observedExchange(
  context: ProxyContext,
  request: Request,
  options: ObservedExchangeOptions,
): Promise<Response> {
  const body = await openRequestBody(context, request, {
    route: options.route,
    shape: options.shape,
    fields: options.fields ? [...MODEL_KEYS, ...options.fields] : MODEL_KEYS,
    insert: options.insert,
  });
  if (body instanceof Response) return body;
  const forwarded = await forwardObserved(context, request, {
    route: options.route,
    body,
    shape: options.shape,
  });
  if (forwarded instanceof Response) return forwarded;
  const { observation, upstream } = forwarded;
  const status = upstream.status;
  const encoded = (upstream.header("content-encoding") ?? "identity") !== "identity";
  const observer = !upstream.hasBody || status >= 400 || encoded
    ? new PassThroughObserver(observation, { status })
    : options.observe(observation, upstream, { rewritten: body.inserted });
  return await answer(upstream, observer, {
    observation,
    shape: options.shape,
    clientSignal: request.signal,
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
  options: { observation: RequestObservation; shape: ErrorShape; clientSignal?: AbortSignal },
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
      if (options.clientSignal?.aborted) return clientLeft(options.observation);
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
