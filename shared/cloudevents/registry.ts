/**
 * zot's registry events (its `events` extension, registry/config.json) as hints. zot sends binary-mode CloudEvents,
 * `source: zotregistry.dev`, once and without retry; the data of `zotregistry.image.deleted` is
 * `{name, reference, digest, mediaType, request}` (`reference` is the tag or digest the client deleted by).
 *
 * Only a deletion in a repository the pipeline writes, `<namespace>/<component|resource|configuration>/<name>`
 * (shared/stagekit/names.ts repositoryName), is something we act on: it becomes an `update` hint on the producing
 * object, carrying which manifest the registry lost, so the producing stage can re-push it if its Ready Snapshot
 * references it. Anything else is an InvalidEventError naming the field.
 */
import type { CloudEventV1 } from 'cloudevents';
import { API_VERSION } from './constants.js';
import { InvalidEventError } from './errors.js';
import type { ObjectHint } from './types.js';

export const RegistryEventTypes = {
  imageDeleted: 'zotregistry.image.deleted',
  imageUpdated: 'zotregistry.image.updated',
  repositoryCreated: 'zotregistry.repository.created',
} as const;

/** The producing kind for each kind segment of a repository name (the kinds that own Snapshots). */
const PRODUCER_KINDS: Record<string, string> = { component: 'Component', resource: 'Resource', configuration: 'Configuration' };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isRegistryEvent(type: unknown): boolean {
  return typeof type === 'string' && type.startsWith('zotregistry.');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The producer a repository name belongs to, or undefined when the pipeline does not write that repository. */
export function producerOfRepository(repository: string): { kind: string; namespace: string; name: string } | undefined {
  const parts = repository.split('/');
  if (parts.length !== 3) return undefined;
  const [namespace, segment, name] = parts as [string, string, string];
  const kind = PRODUCER_KINDS[segment];
  if (!kind || namespace.length > 63 || !DNS_LABEL.test(namespace) || name.length > 253 || !DNS_SUBDOMAIN.test(name)) return undefined;
  return { kind, namespace, name };
}

/** `zotregistry.image.deleted` -> an update hint on the producing object with `lost` set. */
export function fromRegistryEvent(event: CloudEventV1<unknown>): ObjectHint {
  if (event.type !== RegistryEventTypes.imageDeleted) {
    throw new InvalidEventError(
      `unsupported registry event type ${JSON.stringify(event.type)}: only ${RegistryEventTypes.imageDeleted} is acted on`,
      'type',
    );
  }
  const data = event.data;
  if (!isRecord(data)) {
    throw new InvalidEventError(`${event.type} must carry {name, reference, digest} as JSON data; got ${data === undefined ? 'no data' : typeof data}`, 'data');
  }
  const repository = data['name'];
  if (typeof repository !== 'string' || repository === '') {
    throw new InvalidEventError(`data.name (the repository) is ${repository === undefined ? 'missing' : `not a non-empty string (got ${JSON.stringify(repository)})`}`, 'data.name');
  }
  const digest = data['digest'];
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw new InvalidEventError(`data.digest ${JSON.stringify(digest)} is not a sha256 manifest digest`, 'data.digest');
  }
  const producer = producerOfRepository(repository);
  if (!producer) {
    throw new InvalidEventError(
      `repository ${JSON.stringify(repository)} is not one the pipeline writes (<namespace>/<component|resource|configuration>/<name>)`,
      'data.name',
    );
  }
  return {
    id: event.id,
    source: event.source,
    ...(event.time ? { time: String(event.time) } : {}),
    type: 'update',
    origin: 'registry',
    apiVersion: API_VERSION,
    ...producer,
    lost: { repository, digest },
  };
}
