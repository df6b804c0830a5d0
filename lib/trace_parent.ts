/**
 * Reads a W3C Trace Context `traceparent` header
 * (`00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`), so that a request's measurements
 * can point at the application's trace (exemplars, the log line) and its span can continue it.
 * Only what the specification allows is accepted: version `00` with exactly four fields (later
 * versions may add fields), lower-case hex, and neither an all-zero trace id nor an all-zero
 * parent id.
 *
 * @module
 */

const TRACE_PARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The fields of a valid `traceparent`. */
export interface TraceParent {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** The caller's span: 16 lower-case hex digits. */
  readonly parentId: string;
  /** The trace flags (bit 0: sampled). */
  readonly flags: number;
}

/** The fields of a valid `traceparent` value, or `undefined`. */
export function traceParentOf(header: string | null): TraceParent | undefined {
  if (header === null || header.length > 512) return undefined;
  const match = TRACE_PARENT.exec(header.trim());
  if (match === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = match;
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return undefined;
  return { traceId: traceId!, parentId: parentId!, flags: parseInt(flags!, 16) };
}

/** The trace id of a valid `traceparent` value, or `undefined`. */
export function traceIdOf(header: string | null): string | undefined {
  return traceParentOf(header)?.traceId;
}
