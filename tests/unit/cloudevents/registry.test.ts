import { describe, expect, it } from 'vitest';
import {
  CloudEvent,
  InvalidEventError,
  RegistryEventTypes,
  parseHttpEvent,
  producerOfRepository,
  toHint,
} from '../../../shared/cloudevents/index.js';
import { MediaType } from '../../../shared/oci/media-types.js';
import { toStageHint } from '../../../shared/server/stage-adapter.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** What zot v2.1.20 POSTs (binary mode; headers as observed, data as its events extension builds it). */
function zotDelivery(data: unknown, type: string = RegistryEventTypes.imageDeleted) {
  const headers = {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': '7a5c1a0e-1a2b-4c3d-9e8f-0a1b2c3d4e5f',
    'ce-source': 'zotregistry.dev',
    'ce-type': type,
    'ce-time': '2026-12-06T03:00:00Z',
  };
  return parseHttpEvent(headers, Buffer.from(JSON.stringify(data)));
}

describe('registry events (zot) -> hints', () => {
  it('image.deleted in a Resource repository -> update hint on the Resource with the lost manifest', () => {
    const hint = toHint(
      zotDelivery({
        name: 'team-a/resource/chart',
        reference: DIGEST,
        digest: DIGEST,
        mediaType: MediaType.ImageManifest,
        request: { addr: '127.0.0.1:1', method: 'DELETE', useragent: 'crane' },
      }),
    );
    expect(hint).toMatchObject({
      type: 'update',
      origin: 'registry',
      apiVersion: 'serverless.ocm.software/v1alpha1',
      kind: 'Resource',
      namespace: 'team-a',
      name: 'chart',
      source: 'zotregistry.dev',
      lost: { repository: 'team-a/resource/chart', digest: DIGEST },
    });
    // and the stage port sees the same
    expect(toStageHint(hint)).toEqual({
      type: 'object',
      action: 'update',
      ref: { apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Resource', namespace: 'team-a', name: 'chart' },
      lost: { repository: 'team-a/resource/chart', digest: DIGEST },
    });
  });

  it('deleted by tag: the digest in data is what was lost', () => {
    const hint = toHint(zotDelivery({ name: 'ns/component/app', reference: '1.0.0', digest: DIGEST, mediaType: 'x' }));
    expect(hint).toMatchObject({ kind: 'Component', name: 'app', lost: { digest: DIGEST } });
  });

  it('maps the three producing kinds and nothing else', () => {
    expect(producerOfRepository('ns/component/a')).toEqual({ kind: 'Component', namespace: 'ns', name: 'a' });
    expect(producerOfRepository('ns/resource/a.b')).toEqual({ kind: 'Resource', namespace: 'ns', name: 'a.b' });
    expect(producerOfRepository('ns/configuration/a')).toEqual({ kind: 'Configuration', namespace: 'ns', name: 'a' });
    for (const repo of ['ns/publication/a', 'published-ns/manifests', 'ns/resource/a/b', 'NS/resource/a', 'ns/resource/A', 'x']) {
      expect(producerOfRepository(repo), repo).toBeUndefined();
    }
  });

  it.each([
    ['a repository the pipeline does not write', { name: 'published/manifests', digest: DIGEST }, 'data.name'],
    ['no repository', { digest: DIGEST }, 'data.name'],
    ['a digest that is not sha256', { name: 'ns/resource/a', digest: 'md5:00' }, 'data.digest'],
    ['no data', undefined, 'data'],
  ])('rejects %s, naming the field', (_what, data, field) => {
    const ev = data === undefined
      ? new CloudEvent({ specversion: '1.0', id: '1', source: 'zotregistry.dev', type: RegistryEventTypes.imageDeleted })
      : zotDelivery(data);
    const err = (() => {
      try {
        toHint(ev);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidEventError);
    expect((err as InvalidEventError).field).toBe(field);
  });

  it('other zot event types are not acted on', () => {
    expect(() => toHint(zotDelivery({ name: 'ns/resource/a', reference: 't', digest: DIGEST }, RegistryEventTypes.imageUpdated))).toThrow(
      /only zotregistry.image.deleted/,
    );
  });
});
