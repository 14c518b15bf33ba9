/** W3C Trace Context (https://www.w3.org/TR/trace-context/) version 00, the only one we propagate. */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** Returns the value when it is a well-formed traceparent, otherwise undefined (never an error: tracing is best-effort). */
export function validTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  return TRACEPARENT.test(v) ? v : undefined;
}

/** tracestate is opaque to us; keep it only if it is a short printable ASCII string. */
export function validTracestate(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > 0 && value.length <= 512 && /^[\x20-\x7e]+$/.test(value) ? value : undefined;
}
