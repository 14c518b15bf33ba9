import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ComponentNotFoundError,
  digestDescriptor,
  openRepository,
  openResourceAccess,
  RepositorySpecError,
} from '../../../shared/ocm/index.js';
import { readBounded } from '../../../shared/ocm/streams.js';
import { TESTDATA } from './testdata.js';

async function readAll(s: Readable): Promise<Buffer> {
  return readBounded(s, 1 << 30, 'test');
}

interface Expected {
  componentVersions: {
    component: string;
    version: string;
    manifestDigest: string;
    resources: { name: string; version: string; accessType: string; digest: { value: string }; blobPresentInCTF?: boolean }[];
    [k: string]: unknown;
  }[];
}

const golden: [string, string][] = [
  ['ocmlib-helloworld-utf8/transport-archive', 'ocmlib-helloworld-utf8/expected.json'],
  ['ocmlib-helloworld-utf8/transport-archive.tar', 'ocmlib-helloworld-utf8/transport-archive.tar.expected.json'],
  ['ocmlib-helloworld-utf8/transport-archive.tar.gz', 'ocmlib-helloworld-utf8/transport-archive.tar.gz.expected.json'],
  ['ocm-0.18.0-extraid', 'ocm-0.18.0-extraid.expected.json'],
  ['ocmlib-helloworld-ociartifact/transport-archive', 'ocmlib-helloworld-ociartifact/expected.json'],
];

describe('golden CTFs (directory, tar, tgz) read', () => {
  for (const [path, exp] of golden) {
    it(path, async () => {
      const expected = JSON.parse(readFileSync(join(TESTDATA, 'ctf', exp), 'utf8')) as Expected;
      const repo = await openRepository({ type: 'CommonTransportFormat', filePath: join(TESTDATA, 'ctf', path) });
      try {
        for (const cv of expected.componentVersions) {
          expect(await repo.listVersions(cv.component)).toEqual([cv.version]);
          const cd = await repo.getDescriptor(cv.component, cv.version);
          expect(cd.name).toBe(cv.component);
          expect(cd.resources.map((r) => [r.name, r.version, r.access?.type, r.digest?.value])).toEqual(
            cv.resources.map((r) => [r.name, r.version, r.accessType, r.digest.value]),
          );
          const hint = Object.entries(cv).find(([k]) => k.startsWith('jsonNormalisation/v3'))?.[1];
          expect(digestDescriptor(cd, 'jsonNormalisation/v3')).toBe(hint);
          for (const r of cd.resources.filter((x) => x.access?.type === 'localBlob')) {
            const access = await openResourceAccess(cd, r, { repository: repo });
            expect(access.kind).toBe('blob');
            if (access.kind === 'blob') {
              const bytes = await readAll(await access.open());
              expect(bytes.length).toBe(access.size);
            }
          }
        }
      } finally {
        await repo.close();
      }
    });
  }

  it('empty index: no versions, typed not-found', async () => {
    const repo = await openRepository({ type: 'CommonTransportFormat', filePath: join(TESTDATA, 'ctf/empty-index') });
    expect(await repo.listVersions('acme.org/x')).toEqual([]);
    await expect(repo.getDescriptor('acme.org/x', '1.0.0')).rejects.toBeInstanceOf(ComponentNotFoundError);
  });

  it('missing path and bad specs are RepositorySpecError', async () => {
    await expect(openRepository({ type: 'CommonTransportFormat', filePath: '/nonexistent/ctf' })).rejects.toBeInstanceOf(RepositorySpecError);
    await expect(openRepository({ type: 'S3' })).rejects.toBeInstanceOf(RepositorySpecError);
    await expect(openRepository({ type: 'OCIRegistry' })).rejects.toThrow(/baseUrl/);
  });
});

