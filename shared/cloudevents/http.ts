/**
 * CloudEvents HTTP binding (cloudevents v10 SDK) with the SDK's sharp edges filed off:
 * - it does not validate what it parses, so we validate;
 * - it rejects `application/cloudevents+json; charset=UTF-8` (case-sensitive table), so content types are lowercased;
 * - it leaves Buffer bodies and non-canonical JSON content types unparsed, so we decode JSON data ourselves;
 * - batch mode is refused with 415 (Knative never sends batches).
 */
import { CloudEvent, HTTP, ValidationError, type CloudEventV1 } from 'cloudevents';
import { MalformedEventError, UnsupportedEncodingError } from './errors.js';

export type HeaderBag = Record<string, string | string[] | undefined>;

export interface HttpMessage {
  headers: Record<string, string>;
  body: string;
}

const BATCH = 'application/cloudevents-batch';
const STRUCTURED = 'application/cloudevents';

function flattenHeaders(headers: HeaderBag): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** application/json, text/json, application/*+json (with any parameters). */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const media = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return media === 'application/json' || media === 'text/json' || media.endsWith('+json');
}

function describeValidation(err: ValidationError): string {
  const details = (err.errors ?? [])
    .map((e) => (typeof e === 'string' ? e : `${e.instancePath || '/'} ${e.message ?? ''}`.trim()))
    .filter(Boolean);
  return details.length ? `${err.message}: ${details.join('; ')}` : err.message;
}

/** Guess the offending attribute from an ajv error, for the `field` of the error. */
function fieldOf(err: ValidationError): string | undefined {
  const first = err.errors?.[0];
  if (!first || typeof first === 'string') return undefined;
  const missing = (first.params as { missingProperty?: unknown } | undefined)?.missingProperty;
  if (typeof missing === 'string') return missing;
  return first.instancePath ? first.instancePath.replace(/^\//, '').replaceAll('/', '.') : undefined;
}

function decodeData(event: CloudEvent<unknown>): CloudEvent<unknown> {
  const data: unknown = event.data;
  if (!isJsonContentType(event.datacontenttype) || data === undefined || data === null) return event;
  let text: string | undefined;
  if (typeof data === 'string') text = data;
  else if (Buffer.isBuffer(data)) text = data.toString('utf8');
  // The SDK turns structured `data_base64` into a Uint32Array holding one byte per element.
  else if (data instanceof Uint32Array) text = Buffer.from(Uint8Array.from(data)).toString('utf8');
  else if (ArrayBuffer.isView(data)) text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  if (text === undefined) return event; // already an object
  // Rebuild rather than cloneWith(): the SDK recorded the raw bytes as data_base64, which must not survive.
  const { data: _data, data_base64: _b64, ...attributes } = event.toJSON();
  if (text.trim() === '') return new CloudEvent<unknown>(attributes, false);
  try {
    return new CloudEvent<unknown>({ ...attributes, data: JSON.parse(text) as unknown }, false);
  } catch (cause) {
    throw new MalformedEventError(
      `data is not valid JSON although datacontenttype is ${event.datacontenttype}: ${(cause as Error).message}`,
      'data',
      { cause },
    );
  }
}

/** Required attributes present, specversion 1.0, time (if any) an RFC 3339 timestamp. */
function checkEnvelope(get: (name: string) => unknown): void {
  for (const attr of ['specversion', 'id', 'source', 'type'] as const) {
    const v = get(attr);
    if (typeof v !== 'string' || v === '') {
      throw new MalformedEventError(`invalid CloudEvent: required attribute ${attr} is ${v === undefined ? 'missing' : 'not a non-empty string'}`, attr);
    }
  }
  if (get('specversion') !== '1.0') {
    throw new MalformedEventError(`unsupported CloudEvents specversion ${JSON.stringify(get('specversion'))} (only 1.0)`, 'specversion');
  }
  const time = get('time');
  if (time !== undefined && (typeof time !== 'string' || !RFC3339.test(time) || Number.isNaN(Date.parse(time)))) {
    throw new MalformedEventError(`invalid CloudEvent: time ${JSON.stringify(time)} is not an RFC 3339 timestamp`, 'time');
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parse one CloudEvent from an HTTP request (binary or structured mode) and validate it against the
 * CloudEvents 1.0 spec. Throws MalformedEventError (400) or UnsupportedEncodingError (415).
 */
export function parseHttpEvent(headers: HeaderBag, body: string | Buffer | undefined): CloudEvent<unknown> {
  const h = flattenHeaders(headers);
  const contentType = h['content-type']?.trim().toLowerCase();
  if (contentType !== undefined) h['content-type'] = contentType;
  if (contentType?.startsWith(BATCH)) {
    throw new UnsupportedEncodingError(
      'batched CloudEvents (application/cloudevents-batch+json) are not accepted: send one event per request (binary or structured mode)',
    );
  }
  const structured = contentType?.startsWith(STRUCTURED) ?? false;
  if (!structured && h['ce-specversion'] === undefined && h['ce-id'] === undefined) {
    throw new MalformedEventError(
      'not a CloudEvent: expected ce-* headers (binary mode) or Content-Type application/cloudevents+json (structured mode)',
      'content-type',
    );
  }
  if (structured && contentType !== undefined && !contentType.startsWith('application/cloudevents+json')) {
    throw new UnsupportedEncodingError(`structured CloudEvents must be JSON (application/cloudevents+json), got ${contentType}`);
  }
  // Binary mode: hand the SDK a Buffer so it leaves the data alone (its JSON parser wraps bare words in quotes);
  // decodeData() parses JSON data afterwards with a proper error.
  // Binary mode: hand the SDK a Buffer so it leaves the data alone (its JSON parser wraps bare words in quotes);
  // decodeData() parses JSON data afterwards with a proper error.
  let payload: string | Buffer | Record<string, unknown> | undefined = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (structured) {
    // The SDK silently mis-parses Buffers in structured mode and invents ids and times that are missing or
    // invalid, so parse and check the envelope here and give it the parsed object.
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : (body ?? '');
    if (text.trim() === '') throw new MalformedEventError('structured CloudEvent has an empty body', 'body');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new MalformedEventError(`structured CloudEvent body is not valid JSON: ${(cause as Error).message}`, 'body', { cause });
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new MalformedEventError('structured CloudEvent body must be a JSON object', 'body');
    }
    const envelope = json as Record<string, unknown>;
    checkEnvelope((name) => envelope[name]);
    payload = envelope;
    // Normalise to the one content type the SDK's parser table knows.
    h['content-type'] = 'application/cloudevents+json; charset=utf-8';
  } else {
    checkEnvelope((name) => h[`ce-${name}`]);
  }
  let parsed: CloudEventV1<unknown> | CloudEventV1<unknown>[];
  try {
    parsed = HTTP.toEvent<unknown>({ headers: h, body: payload });
  } catch (cause) {
    if (cause instanceof ValidationError) {
      throw new MalformedEventError(`invalid CloudEvent: ${describeValidation(cause)}`, fieldOf(cause), { cause });
    }
    throw new MalformedEventError(`invalid CloudEvent: ${(cause as Error).message}`, structured ? 'body' : undefined, {
      cause,
    });
  }
  if (Array.isArray(parsed)) {
    throw new UnsupportedEncodingError('batched CloudEvents are not accepted: send one event per request');
  }
  // toEvent() builds with strict=false, so nothing has been validated yet.
  const event = parsed as CloudEvent<unknown>;
  if (event.specversion !== '1.0') {
    throw new MalformedEventError(`unsupported CloudEvents specversion ${String(event.specversion)} (only 1.0)`, 'specversion');
  }
  for (const attr of ['id', 'source', 'type'] as const) {
    if (typeof event[attr] !== 'string' || event[attr] === '') {
      throw new MalformedEventError(`invalid CloudEvent: required attribute ${attr} is missing or empty`, attr);
    }
  }
  try {
    event.validate();
  } catch (cause) {
    if (cause instanceof ValidationError) {
      throw new MalformedEventError(`invalid CloudEvent: ${describeValidation(cause)}`, fieldOf(cause), { cause });
    }
    throw cause;
  }
  return decodeData(event);
}

/** Binary-mode HTTP message for an event (what Knative's sources and our replies send). */
export function toBinaryMessage(event: CloudEvent<unknown>): HttpMessage {
  const m = HTTP.binary(event);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) if (v !== undefined) headers[k] = String(v);
  if (event.datacontenttype) headers['content-type'] = event.datacontenttype;
  const traceparent = event['traceparent'];
  if (typeof traceparent === 'string') headers['traceparent'] = traceparent;
  return { headers, body: bodyString(m.body) };
}

/** Structured-mode HTTP message for an event. */
export function toStructuredMessage(event: CloudEvent<unknown>): HttpMessage {
  const m = HTTP.structured(event);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) if (v !== undefined) headers[k] = String(v);
  return { headers, body: bodyString(m.body) };
}

function bodyString(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return JSON.stringify(body);
}
