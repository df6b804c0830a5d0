/**
 * Test helper: decodes OTLP/HTTP protobuf bodies (`ExportTraceServiceRequest`,
 * `ExportMetricsServiceRequest`) with the official OpenTelemetry `.proto` files, loaded at run time
 * by protobufjs.
 *
 * The files come from Debian's `opentelemetry-proto` package (1.5.0, trixie; `.ci/run` installs
 * it), under `/usr/include/opentelemetry/proto/...`; `OTEL_PROTO_INCLUDE` names another include
 * root (the folder that holds `opentelemetry/`). When they are missing,
 * {@linkcode OTEL_PROTO_ABSENT} says why, in one line, and the tests that need them use it as
 * their `ignore` condition.
 *
 * The decoded spans and metrics are plain objects: ids as lower-case hex, attributes as a record
 * of JS values, times in nanoseconds as `bigint`. Each decoded request also keeps `raw`, the whole
 * message as JSON-safe data (bytes as base64, 64-bit integers as decimal strings), for
 * assertions about everything that was sent (e.g. that a text appears nowhere).
 *
 * @module
 */

import protobuf from "npm:protobufjs@7.6.6";
import { optionalEnv } from "./processes.ts";

const TRACE_SERVICE = "opentelemetry/proto/collector/trace/v1/trace_service.proto";
const METRICS_SERVICE = "opentelemetry/proto/collector/metrics/v1/metrics_service.proto";
const LOGS_SERVICE = "opentelemetry/proto/collector/logs/v1/logs_service.proto";
const TRACE_REQUEST = "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest";
const METRICS_REQUEST = "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest";

/** The include root of the `.proto` files: `OTEL_PROTO_INCLUDE`, or `/usr/include`. */
export const OTEL_PROTO_INCLUDE: string = includeRoot();

/**
 * Why the `.proto` files cannot be used (one line, for the log), or `null` when they can: the
 * trace and metrics service definitions are both under {@linkcode OTEL_PROTO_INCLUDE}.
 */
export const OTEL_PROTO_ABSENT: string | null = absentReason();

/** OTLP's `Span.SpanKind` numbers (not `@opentelemetry/api`'s `SpanKind`, which starts at 0). */
export const OtlpSpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

/** OTLP's `Status.StatusCode` numbers (the same as `@opentelemetry/api`'s `SpanStatusCode`). */
export const OtlpStatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;

/**
 * One attribute value (OTLP `AnyValue`): `intValue` becomes a `number` (exact up to 2^53),
 * `arrayValue` an array, `kvlistValue` a record, `bytesValue` a `Uint8Array`, an empty value `null`.
 */
export type AttributeValue =
  | string
  | number
  | boolean
  | null
  | Uint8Array
  | readonly AttributeValue[]
  | { readonly [key: string]: AttributeValue };

/** Attributes (OTLP `repeated KeyValue`) by key. */
export type Attributes = Readonly<Record<string, AttributeValue>>;

/** The instrumentation scope of a span or metric (the tracer's or meter's name and version). */
export interface DecodedScope {
  /** The tracer's or meter's name (`""` when unknown). */
  readonly name: string;
  /** Its version, `""` when none was given. */
  readonly version: string;
  /** The scope's own attributes. */
  readonly attributes: Attributes;
}

/** One event of a span. */
export interface DecodedEvent {
  /** The event's name. */
  readonly name: string;
  /** Nanoseconds since the epoch. */
  readonly timeUnixNano: bigint;
  /** The event's attributes. */
  readonly attributes: Attributes;
}

/** One link of a span to another span. */
export interface DecodedLink {
  /** The linked span's trace id, 32 lower-case hex digits. */
  readonly traceId: string;
  /** The linked span's id, 16 lower-case hex digits. */
  readonly spanId: string;
  /** The link's attributes. */
  readonly attributes: Attributes;
}

/** One span, with its resource's attributes and its scope. */
export interface DecodedSpan {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** 16 lower-case hex digits. */
  readonly spanId: string;
  /** 16 lower-case hex digits, or `""` for a root span. */
  readonly parentSpanId: string;
  /** W3C `tracestate`, `""` when none. */
  readonly traceState: string;
  /** The span's name. */
  readonly name: string;
  /** OTLP's number: see {@linkcode OtlpSpanKind}. */
  readonly kind: number;
  /** The span's attributes. */
  readonly attributes: Attributes;
  /** Its events, in the order they were added. */
  readonly events: readonly DecodedEvent[];
  /** Its links to other spans. */
  readonly links: readonly DecodedLink[];
  /** OTLP's `code` (see {@linkcode OtlpStatusCode}) and its `message` (`""` when none). */
  readonly status: { readonly code: number; readonly message: string };
  /** The resource's attributes (e.g. `service.name`). */
  readonly resource: Attributes;
  /** The tracer's name and version. */
  readonly scope: DecodedScope;
  /** Nanoseconds since the epoch. */
  readonly startTimeUnixNano: bigint;
  /** Nanoseconds since the epoch. */
  readonly endTimeUnixNano: bigint;
  /** How many attributes, events and links the SDK dropped (limits), each. */
  readonly dropped: {
    readonly attributes: number;
    readonly events: number;
    readonly links: number;
  };
}

/** A decoded `ExportTraceServiceRequest`: its spans, flat, in body order, and the whole message. */
export interface DecodedTraceRequest {
  /** Every span of every resource and scope, in body order. */
  readonly spans: readonly DecodedSpan[];
  /** The whole message as JSON-safe data (bytes as base64, 64-bit integers as strings). */
  readonly raw: Record<string, unknown>;
}

/** One point of a gauge or sum. */
export interface DecodedNumberPoint {
  /** The point's attributes. */
  readonly attributes: Attributes;
  /** Nanoseconds since the epoch (0 when unset). */
  readonly startTimeUnixNano: bigint;
  /** Nanoseconds since the epoch. */
  readonly timeUnixNano: bigint;
  /** `asDouble`, or `asInt` as a number. */
  readonly value: number;
}

/** One point of an explicit-bucket histogram. */
export interface DecodedHistogramPoint {
  /** The point's attributes. */
  readonly attributes: Attributes;
  /** Nanoseconds since the epoch (0 when unset). */
  readonly startTimeUnixNano: bigint;
  /** Nanoseconds since the epoch. */
  readonly timeUnixNano: bigint;
  /** How many values were recorded. */
  readonly count: number;
  /** `undefined` when the SDK did not send one. */
  readonly sum: number | undefined;
  /** One more count than bounds: the last bucket is (last bound, +Inf). */
  readonly bucketCounts: readonly number[];
  /** The buckets' upper bounds (inclusive), ascending. */
  readonly explicitBounds: readonly number[];
  /** The smallest value recorded, `undefined` when the SDK did not send it. */
  readonly min: number | undefined;
  /** The largest value recorded, `undefined` when the SDK did not send it. */
  readonly max: number | undefined;
}

/** The fields every {@linkcode DecodedMetric} has. */
export interface DecodedMetricBase {
  /** The instrument's name, e.g. `gen_ai.client.token.usage`. */
  readonly name: string;
  /** Its description, `""` when none. */
  readonly description: string;
  /** Its unit (UCUM, e.g. `s`, `By`, `{token}`), `""` when none. */
  readonly unit: string;
  /** The resource's attributes (e.g. `service.name`). */
  readonly resource: Attributes;
  /** The meter's name and version. */
  readonly scope: DecodedScope;
}

/**
 * One metric. Gauges, sums and explicit-bucket histograms come with their points; exponential
 * histograms and summaries only with their type (read them from the request's `raw`).
 */
export type DecodedMetric =
  | DecodedMetricBase & { readonly type: "gauge"; readonly points: readonly DecodedNumberPoint[] }
  | DecodedMetricBase & {
    readonly type: "sum";
    readonly points: readonly DecodedNumberPoint[];
    readonly isMonotonic: boolean;
    /** 1 delta, 2 cumulative (OTLP `AggregationTemporality`). */
    readonly temporality: number;
  }
  | DecodedMetricBase & {
    readonly type: "histogram";
    readonly points: readonly DecodedHistogramPoint[];
    /** 1 delta, 2 cumulative (OTLP `AggregationTemporality`). */
    readonly temporality: number;
  }
  | DecodedMetricBase & { readonly type: "exponentialHistogram" | "summary" | "empty" };

/** A decoded `ExportMetricsServiceRequest`: its metrics, flat, in body order, and the message. */
export interface DecodedMetricsRequest {
  /** Every metric of every resource and scope, in body order. */
  readonly metrics: readonly DecodedMetric[];
  /** The whole message as JSON-safe data (bytes as base64, 64-bit integers as strings). */
  readonly raw: Record<string, unknown>;
}

let loaded: protobuf.Root | undefined;

/**
 * The protobufjs root with the OTLP trace, metrics and logs service definitions (and what they
 * import), loaded once from {@linkcode OTEL_PROTO_INCLUDE}; e.g. to encode a request in a test.
 * Throws when the files are missing or do not parse.
 */
export function otlpProtoRoot(): protobuf.Root {
  if (loaded !== undefined) return loaded;
  if (OTEL_PROTO_ABSENT !== null) throw new Error(`Cannot decode OTLP: ${OTEL_PROTO_ABSENT}`);
  const root = new protobuf.Root();
  // `import "opentelemetry/proto/common/v1/common.proto"` is relative to the include root.
  root.resolvePath = (_origin, target) =>
    target.startsWith("/") ? target : `${OTEL_PROTO_INCLUDE}/${target}`;
  try {
    root.loadSync([TRACE_SERVICE, METRICS_SERVICE, LOGS_SERVICE]);
  } catch (error) {
    throw new Error(
      `Cannot load the OpenTelemetry .proto files under ${OTEL_PROTO_INCLUDE}: ` +
        (error instanceof Error ? error.message : String(error)),
      { cause: error },
    );
  }
  loaded = root;
  return root;
}

/**
 * Decodes an OTLP/HTTP protobuf `ExportTraceServiceRequest` body into its spans. Throws, saying
 * why, when the body is not one (or the `.proto` files are missing).
 */
export function decodeTraceRequest(body: Uint8Array): DecodedTraceRequest {
  const type = otlpProtoRoot().lookupType(TRACE_REQUEST);
  const message = decodeMessage(type, body, "ExportTraceServiceRequest");
  const spans: DecodedSpan[] = [];
  for (const resourceSpans of list<ResourceSpansMessage>(message.resourceSpans)) {
    const resource = attributes(resourceSpans.resource?.attributes);
    for (const scopeSpans of list<ScopeSpansMessage>(resourceSpans.scopeSpans)) {
      const scope = decodeScope(scopeSpans.scope);
      for (const span of list<SpanMessage>(scopeSpans.spans)) {
        spans.push(decodeSpan(span, resource, scope));
      }
    }
  }
  return { spans, raw: jsonSafe(type, message) };
}

/**
 * Decodes an OTLP/HTTP protobuf `ExportMetricsServiceRequest` body into its metrics. Throws,
 * saying why, when the body is not one (or the `.proto` files are missing).
 */
export function decodeMetricsRequest(body: Uint8Array): DecodedMetricsRequest {
  const type = otlpProtoRoot().lookupType(METRICS_REQUEST);
  const message = decodeMessage(type, body, "ExportMetricsServiceRequest");
  const metrics: DecodedMetric[] = [];
  for (const resourceMetrics of list<ResourceMetricsMessage>(message.resourceMetrics)) {
    const resource = attributes(resourceMetrics.resource?.attributes);
    for (const scopeMetrics of list<ScopeMetricsMessage>(resourceMetrics.scopeMetrics)) {
      const scope = decodeScope(scopeMetrics.scope);
      for (const metric of list<MetricMessage>(scopeMetrics.metrics)) {
        metrics.push(decodeMetric(metric, resource, scope));
      }
    }
  }
  return { metrics, raw: jsonSafe(type, message) };
}

// The decoded protobufjs messages, as far as they are read here (camelCase fields; unset scalars
// read as their defaults through the prototype; 64-bit integers as `Long` objects; `value` and
// `data` are protobufjs' virtual oneof fields, naming the member that is set).
type Long = { toString(): string };
type Message = Record<string, unknown>;
interface KeyValueMessage {
  key: string;
  value?: AnyValueMessage | null;
}
interface AnyValueMessage {
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Long | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValueMessage[] } | null;
  kvlistValue?: { values?: KeyValueMessage[] } | null;
  bytesValue?: Uint8Array;
}
interface ScopeMessage {
  name?: string;
  version?: string;
  attributes?: KeyValueMessage[];
}
interface ResourceSpansMessage {
  resource?: { attributes?: KeyValueMessage[] } | null;
  scopeSpans?: ScopeSpansMessage[];
}
interface ScopeSpansMessage {
  scope?: ScopeMessage | null;
  spans?: SpanMessage[];
}
interface SpanMessage {
  traceId?: Uint8Array;
  spanId?: Uint8Array;
  parentSpanId?: Uint8Array;
  traceState?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: Long | number;
  endTimeUnixNano?: Long | number;
  attributes?: KeyValueMessage[];
  droppedAttributesCount?: number;
  events?: { name?: string; timeUnixNano?: Long | number; attributes?: KeyValueMessage[] }[];
  droppedEventsCount?: number;
  links?: { traceId?: Uint8Array; spanId?: Uint8Array; attributes?: KeyValueMessage[] }[];
  droppedLinksCount?: number;
  status?: { code?: number; message?: string } | null;
}
interface ResourceMetricsMessage {
  resource?: { attributes?: KeyValueMessage[] } | null;
  scopeMetrics?: ScopeMetricsMessage[];
}
interface ScopeMetricsMessage {
  scope?: ScopeMessage | null;
  metrics?: MetricMessage[];
}
interface NumberPointMessage {
  attributes?: KeyValueMessage[];
  startTimeUnixNano?: Long | number;
  timeUnixNano?: Long | number;
  value?: string;
  asDouble?: number;
  asInt?: Long | number;
}
interface HistogramPointMessage {
  attributes?: KeyValueMessage[];
  startTimeUnixNano?: Long | number;
  timeUnixNano?: Long | number;
  count?: Long | number;
  sum?: number | null;
  bucketCounts?: (Long | number)[];
  explicitBounds?: number[];
  min?: number | null;
  max?: number | null;
}
interface MetricMessage {
  name?: string;
  description?: string;
  unit?: string;
  data?: string;
  gauge?: { dataPoints?: NumberPointMessage[] };
  sum?: {
    dataPoints?: NumberPointMessage[];
    aggregationTemporality?: number;
    isMonotonic?: boolean;
  };
  histogram?: { dataPoints?: HistogramPointMessage[]; aggregationTemporality?: number };
}

function decodeMessage(type: protobuf.Type, body: Uint8Array, what: string): Message {
  try {
    return type.decode(body) as unknown as Message;
  } catch (error) {
    throw new Error(
      `Cannot decode a ${body.byteLength}-byte body as an OTLP ${what}: ` +
        (error instanceof Error ? error.message : String(error)),
      { cause: error },
    );
  }
}

function jsonSafe(type: protobuf.Type, message: Message): Record<string, unknown> {
  return type.toObject(message as unknown as protobuf.Message, {
    longs: String,
    enums: Number,
    bytes: String,
  });
}

function decodeSpan(span: SpanMessage, resource: Attributes, scope: DecodedScope): DecodedSpan {
  return {
    traceId: hex(span.traceId),
    spanId: hex(span.spanId),
    parentSpanId: hex(span.parentSpanId),
    traceState: span.traceState ?? "",
    name: span.name ?? "",
    kind: span.kind ?? 0,
    attributes: attributes(span.attributes),
    events: (span.events ?? []).map((event) => ({
      name: event.name ?? "",
      timeUnixNano: nanos(event.timeUnixNano),
      attributes: attributes(event.attributes),
    })),
    links: (span.links ?? []).map((link) => ({
      traceId: hex(link.traceId),
      spanId: hex(link.spanId),
      attributes: attributes(link.attributes),
    })),
    status: { code: span.status?.code ?? 0, message: span.status?.message ?? "" },
    resource,
    scope,
    startTimeUnixNano: nanos(span.startTimeUnixNano),
    endTimeUnixNano: nanos(span.endTimeUnixNano),
    dropped: {
      attributes: span.droppedAttributesCount ?? 0,
      events: span.droppedEventsCount ?? 0,
      links: span.droppedLinksCount ?? 0,
    },
  };
}

function decodeMetric(
  metric: MetricMessage,
  resource: Attributes,
  scope: DecodedScope,
): DecodedMetric {
  const common: DecodedMetricBase = {
    name: metric.name ?? "",
    description: metric.description ?? "",
    unit: metric.unit ?? "",
    resource,
    scope,
  };
  switch (metric.data) {
    case "gauge":
      return {
        ...common,
        type: "gauge",
        points: (metric.gauge?.dataPoints ?? []).map(numberPoint),
      };
    case "sum":
      return {
        ...common,
        type: "sum",
        points: (metric.sum?.dataPoints ?? []).map(numberPoint),
        isMonotonic: metric.sum?.isMonotonic ?? false,
        temporality: metric.sum?.aggregationTemporality ?? 0,
      };
    case "histogram":
      return {
        ...common,
        type: "histogram",
        points: (metric.histogram?.dataPoints ?? []).map(histogramPoint),
        temporality: metric.histogram?.aggregationTemporality ?? 0,
      };
    case "exponentialHistogram":
    case "summary":
      return { ...common, type: metric.data };
    default:
      return { ...common, type: "empty" };
  }
}

function numberPoint(point: NumberPointMessage): DecodedNumberPoint {
  return {
    attributes: attributes(point.attributes),
    startTimeUnixNano: nanos(point.startTimeUnixNano),
    timeUnixNano: nanos(point.timeUnixNano),
    value: point.value === "asInt" ? Number(String(point.asInt)) : point.asDouble ?? 0,
  };
}

function histogramPoint(point: HistogramPointMessage): DecodedHistogramPoint {
  return {
    attributes: attributes(point.attributes),
    startTimeUnixNano: nanos(point.startTimeUnixNano),
    timeUnixNano: nanos(point.timeUnixNano),
    count: Number(String(point.count ?? 0)),
    sum: point.sum ?? undefined,
    bucketCounts: (point.bucketCounts ?? []).map((count) => Number(String(count))),
    explicitBounds: [...(point.explicitBounds ?? [])],
    min: point.min ?? undefined,
    max: point.max ?? undefined,
  };
}

function decodeScope(scope: ScopeMessage | null | undefined): DecodedScope {
  return {
    name: scope?.name ?? "",
    version: scope?.version ?? "",
    attributes: attributes(scope?.attributes),
  };
}

function attributes(keyValues: KeyValueMessage[] | undefined): Attributes {
  const result: Record<string, AttributeValue> = {};
  for (const { key, value } of keyValues ?? []) result[key] = anyValue(value);
  return result;
}

function anyValue(value: AnyValueMessage | null | undefined): AttributeValue {
  switch (value?.value) {
    case "stringValue":
      return value.stringValue ?? "";
    case "boolValue":
      return value.boolValue ?? false;
    case "intValue":
      return Number(String(value.intValue));
    case "doubleValue":
      return value.doubleValue ?? 0;
    case "arrayValue":
      return (value.arrayValue?.values ?? []).map(anyValue);
    case "kvlistValue":
      return attributes(value.kvlistValue?.values);
    case "bytesValue":
      return new Uint8Array(value.bytesValue ?? []);
    default:
      return null;
  }
}

function list<T>(value: unknown): T[] {
  return Array.isArray(value) ? value as T[] : [];
}

function hex(bytes: Uint8Array | undefined): string {
  return Array.from(bytes ?? [], (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function nanos(value: Long | number | undefined): bigint {
  return value === undefined ? 0n : BigInt(String(value));
}

function includeRoot(): string {
  const trimmed = optionalEnv("OTEL_PROTO_INCLUDE").replace(/\/+$/, "");
  return trimmed === "" ? "/usr/include" : trimmed;
}

function absentReason(): string | null {
  const missing = [TRACE_SERVICE, METRICS_SERVICE, LOGS_SERVICE].filter((file) => {
    try {
      return !Deno.statSync(`${OTEL_PROTO_INCLUDE}/${file}`).isFile;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return null;
  return `OTLP decoding tests skipped: no ${OTEL_PROTO_INCLUDE}/${missing[0]} (install Debian ` +
    "trixie's opentelemetry-proto as .ci/run does, or set OTEL_PROTO_INCLUDE to the folder " +
    "holding opentelemetry/proto/)";
}
