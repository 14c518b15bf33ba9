/**
 * Normalise a parsed CloudEvent into the one hint type handlers see. Errors name the offending field.
 */
import type { CloudEventV1 } from 'cloudevents';
import { EventTypes, REF_PREFIX, RESOURCE_PREFIX } from './constants.js';
import { InvalidEventError } from './errors.js';
import { fromRegistryEvent, isRegistryEvent, RegistryEventTypes } from './registry.js';
import { validTraceparent, validTracestate } from './trace.js';
import type { KubeEventHint, KubeObjectLike, ObjectEventType, ObjectHint, ResyncHint } from './types.js';

const OPS: ReadonlySet<string> = new Set<ObjectEventType>(['add', 'update', 'delete']);
/** RFC 1123 subdomain, what Kubernetes allows for most object names and all namespaces (<= 253). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;
const API_VERSION = /^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireString(obj: Record<string, unknown>, key: string, path: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') {
    throw new InvalidEventError(`${path} is ${v === undefined ? 'missing' : `not a non-empty string (got ${JSON.stringify(v)})`}`, path);
  }
  return v;
}

function checkRef(
  ref: { apiVersion: string; kind: string; namespace: string; name: string },
  base: string,
  paths: { namespace: string; name: string },
): void {
  if (!API_VERSION.test(ref.apiVersion)) {
    throw new InvalidEventError(`${base}apiVersion ${JSON.stringify(ref.apiVersion)} is not a Kubernetes apiVersion (group/version)`, `${base}apiVersion`);
  }
  if (!KIND.test(ref.kind)) throw new InvalidEventError(`${base}kind ${JSON.stringify(ref.kind)} is not a Kubernetes kind`, `${base}kind`);
  const { namespace: nsPath, name: namePath } = paths;
  if (ref.namespace.length > 63 || !DNS_LABEL.test(ref.namespace)) {
    throw new InvalidEventError(`${nsPath} ${JSON.stringify(ref.namespace)} is not a valid namespace name`, nsPath);
  }
  if (ref.name.length > 253 || !DNS_SUBDOMAIN.test(ref.name)) {
    throw new InvalidEventError(`${namePath} ${JSON.stringify(ref.name)} is not a valid object name (RFC 1123 subdomain)`, namePath);
  }
}

function traceOf(event: CloudEventV1<unknown>, httpTraceparent?: string, httpTracestate?: string) {
  const traceparent = validTraceparent(event['traceparent']) ?? validTraceparent(httpTraceparent);
  const tracestate = traceparent ? (validTracestate(event['tracestate']) ?? validTracestate(httpTracestate)) : undefined;
  return { ...(traceparent ? { traceparent } : {}), ...(tracestate ? { tracestate } : {}) };
}

function base(event: CloudEventV1<unknown>) {
  return { id: event.id, source: event.source, ...(event.time ? { time: String(event.time) } : {}) };
}

function extension(event: CloudEventV1<unknown>, name: string): string | undefined {
  const v = event[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function fromResourceMode(event: CloudEventV1<unknown>, op: ObjectEventType): ObjectHint {
  const data = event.data;
  if (!isRecord(data)) {
    throw new InvalidEventError(`${event.type} must carry the object as JSON data (ApiServerSource mode Resource); got ${data === undefined ? 'no data' : typeof data}`, 'data');
  }
  const apiVersion = requireString(data, 'apiVersion', 'data.apiVersion');
  const kind = requireString(data, 'kind', 'data.kind');
  if (!isRecord(data['metadata'])) throw new InvalidEventError('data.metadata is missing or not an object', 'data.metadata');
  const meta = data['metadata'];
  const name = requireString(meta, 'name', 'data.metadata.name');
  const namespace = requireString(meta, 'namespace', 'data.metadata.namespace');
  checkRef({ apiVersion, kind, namespace, name }, 'data.', { namespace: 'data.metadata.namespace', name: 'data.metadata.name' });
  // ApiServerSource sets these extensions from the same object; a mismatch means a forged or corrupted event.
  for (const [ext, value] of [['kind', kind], ['name', name], ['namespace', namespace], ['apiversion', apiVersion]] as const) {
    const got = extension(event, ext);
    if (got !== undefined && got !== value) {
      throw new InvalidEventError(`extension ${ext}=${JSON.stringify(got)} does not match the object in data (${JSON.stringify(value)})`, ext);
    }
  }
  const uid = typeof meta['uid'] === 'string' && meta['uid'] !== '' ? meta['uid'] : undefined;
  return {
    ...base(event),
    type: op,
    origin: 'apiserver-resource',
    apiVersion,
    kind,
    namespace,
    name,
    ...(uid ? { uid } : {}),
    object: data as KubeObjectLike,
  };
}

function fromReferenceMode(event: CloudEventV1<unknown>, op: ObjectEventType): ObjectHint {
  const data = event.data;
  if (!isRecord(data)) {
    throw new InvalidEventError(`${event.type} must carry an object reference {apiVersion, kind, name, namespace} as JSON data; got ${data === undefined ? 'no data' : typeof data}`, 'data');
  }
  const apiVersion = requireString(data, 'apiVersion', 'data.apiVersion');
  const kind = requireString(data, 'kind', 'data.kind');
  const name = requireString(data, 'name', 'data.name');
  const namespace = requireString(data, 'namespace', 'data.namespace');
  checkRef({ apiVersion, kind, namespace, name }, 'data.', { namespace: 'data.namespace', name: 'data.name' });
  // No extension cross-check: with `owner` set, data references the controller while extensions describe the child.
  return { ...base(event), type: op, origin: 'apiserver-reference', apiVersion, kind, namespace, name };
}

function fromPing(event: CloudEventV1<unknown>): ResyncHint {
  const hint: ResyncHint = { ...base(event), type: 'resync', origin: 'ping' };
  const data = event.data;
  // PingSource data is free-form; only a JSON object is read as a scope, anything else means "everything".
  if (!isRecord(data)) return hint;
  if (data['namespace'] !== undefined) {
    const ns = data['namespace'];
    if (typeof ns !== 'string' || ns.length > 63 || !DNS_LABEL.test(ns)) {
      throw new InvalidEventError(`data.namespace ${JSON.stringify(ns)} is not a valid namespace name`, 'data.namespace');
    }
    hint.namespace = ns;
  }
  if (data['kinds'] !== undefined) {
    const kinds = data['kinds'];
    if (!Array.isArray(kinds) || !kinds.every((k): k is string => typeof k === 'string' && KIND.test(k))) {
      throw new InvalidEventError(`data.kinds must be a list of Kubernetes kinds, got ${JSON.stringify(kinds)}`, 'data.kinds');
    }
    hint.kinds = kinds;
  }
  return hint;
}

export interface HintOptions {
  /** The HTTP `traceparent` header, used when the event has no traceparent extension. */
  traceparent?: string;
  tracestate?: string;
}

/**
 * Map an ApiServerSource (Resource or Reference mode), PingSource or registry (zot) event to a KubeEventHint.
 * Throws InvalidEventError (422) naming the field when the event is not one we act on.
 */
export function toHint(event: CloudEventV1<unknown>, options: HintOptions = {}): KubeEventHint {
  const type = event.type;
  let hint: KubeEventHint;
  if (typeof type === 'string' && type.startsWith(RESOURCE_PREFIX) && OPS.has(type.slice(RESOURCE_PREFIX.length))) {
    hint = fromResourceMode(event, type.slice(RESOURCE_PREFIX.length) as ObjectEventType);
  } else if (typeof type === 'string' && type.startsWith(REF_PREFIX) && OPS.has(type.slice(REF_PREFIX.length))) {
    hint = fromReferenceMode(event, type.slice(REF_PREFIX.length) as ObjectEventType);
  } else if (type === EventTypes.ping) {
    hint = fromPing(event);
  } else if (isRegistryEvent(type)) {
    hint = fromRegistryEvent(event);
  } else {
    throw new InvalidEventError(
      `unsupported event type ${JSON.stringify(type)}: expected dev.knative.apiserver.resource.{add,update,delete}, dev.knative.apiserver.ref.{add,update,delete}, ${EventTypes.ping} or ${RegistryEventTypes.imageDeleted}`,
      'type',
    );
  }
  return { ...hint, ...traceOf(event, options.traceparent, options.tracestate) };
}
