import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccessError,
  DigestMismatchError,
  openResourceAccess,
  accessImageReference,
  UnsupportedAccessTypeError,
  type ComponentDescriptor,
  type Resource,
} from '../../../shared/ocm/index.js';
import { readBounded } from '../../../shared/ocm/streams.js';
import { registryHost } from '../../../shared/oci/index.js';
import { sampleChart } from '../../fixtures/ocm/sample.js';
import { component } from './component.js';

describe('image references', () => {
  it('parses registry, repository, tag and digest; Docker Hub is asked at registry-1.docker.io', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(accessImageReference(`ghcr.io/acme/podinfo:6.7.1@${d}`)).toMatchObject({ registry: 'ghcr.io', repository: 'acme/podinfo', tag: '6.7.1', digest: d });
    expect(accessImageReference('localhost:5000/x')).toMatchObject({ registry: 'localhost:5000', repository: 'x' });
    const hub = accessImageReference('nginx:1.27');
    expect(hub).toMatchObject({ registry: 'docker.io', repository: 'library/nginx', tag: '1.27' });
    expect(registryHost(hub.registry)).toBe('registry-1.docker.io');
    expect(accessImageReference('http://127.0.0.1:5000/a/b:1')).toMatchObject({ registry: '127.0.0.1:5000', repository: 'a/b', tag: '1', insecure: true });
    expect(accessImageReference(' ghcr.io/x:1 ')).toMatchObject({ registry: 'ghcr.io', repository: 'x', tag: '1' });
    expect(() => accessImageReference('ghcr.io/UPPER/x:1')).toThrow(AccessError);
    expect(() => accessImageReference('ghcr.io/x@sha256:nothex')).toThrow(AccessError);
  });
  it('property: host/repo:tag round-trips', () => {
    const seg = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(
      fc.property(seg, fc.array(seg, { minLength: 1, maxLength: 4 }), fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,20}$/), fc.nat(65535), (h, path, tag, port) => {
        const host = `${h}.io:${port}`;
        const r = accessImageReference(`${host}/${path.join('/')}:${tag}`);
        expect(r).toMatchObject({ registry: host, repository: path.join('/'), tag });
      }),
    );
  });
});

describe('access methods', () => {
  const cd = (r: Resource): ComponentDescriptor => component('acme.org/x', { provider: { name: 'a' }, resources: [r] });
  it('unknown access types are a clear typed error', async () => {
    const r: Resource = { name: 'r', version: '1', type: 'blob', relation: 'external', access: { type: 's3', bucket: 'b', key: 'k' } };
    const e = await openResourceAccess(cd(r), r).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnsupportedAccessTypeError);
    expect((e as Error).message).toBe('unsupported access type s3');
  });

  describe('helm chart repository over HTTP', () => {
    let server: Server;
    let url: string;
    let chart: Buffer;
    beforeAll(async () => {
      chart = await sampleChart('0.1.0');
      const sha = createHash('sha256').update(chart).digest('hex');
      server = createServer((req, res) => {
        if (req.url === '/charts/index.yaml') {
          res.end(`apiVersion: v1\nentries:\n  podinfo:\n  - name: podinfo\n    version: 0.1.0\n    digest: ${sha}\n    urls:\n    - podinfo-0.1.0.tgz\n`);
        } else if (req.url === '/charts/podinfo-0.1.0.tgz') res.end(chart);
        else {
          res.statusCode = 404;
          res.end();
        }
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charts`;
    });
    afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

    it('fetches index.yaml, then the chart archive, verifying both digests', async () => {
      const sha = createHash('sha256').update(chart).digest('hex');
      const r: Resource = {
        name: 'chart',
        version: '0.1.0',
        type: 'helmChart',
        relation: 'external',
        access: { type: 'helm', helmRepository: url, helmChart: 'podinfo:0.1.0' },
        digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'genericBlobDigest/v1', value: sha },
      };
      const a = await openResourceAccess(cd(r), r);
      if (a.kind !== 'blob') throw new Error('expected blob');
      expect((await readBounded(await a.open(), 1 << 24, 't')).equals(chart)).toBe(true);
      const bad = { ...r, digest: { ...r.digest!, value: '0'.repeat(64) } };
      const b = await openResourceAccess(cd(bad), bad);
      if (b.kind !== 'blob') throw new Error('expected blob');
      await expect(readBounded(await b.open(), 1 << 24, 't')).rejects.toBeInstanceOf(DigestMismatchError);
      const missing = { ...r, access: { type: 'helm', helmRepository: url, helmChart: 'podinfo', version: '9.9.9' } };
      await expect(openResourceAccess(cd(missing), missing)).rejects.toThrow(/not in/);
    });
  });
});
