import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AmbiguousResourceError,
  openRepository,
  writeCtfDirectory,
  type ComponentRepository,
  fetchWithReferences,
  openResourceAccess,
  parseComponentDescriptor,
  ReferenceNotFoundError,
  resolveResource,
  ResourceNotFoundError,
} from '../../../shared/ocm/index.js';
import { readBounded } from '../../../shared/ocm/streams.js';
import { APP, BASE, sampleGraph } from '../../fixtures/ocm/sample.js';
import { TESTDATA } from './testdata.js';

// the sample graph (app 1.0.0/1.1.0 referencing base) in a CTF directory
let dir: string;
let repo: ComponentRepository;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ocm-resolve-test-'));
  await writeCtfDirectory(join(dir, 'ctf'), (await sampleGraph()).cvs);
  repo = await openRepository({ type: 'CommonTransportFormat', filePath: join(dir, 'ctf') });
});
afterAll(async () => {
  await repo.close();
  await rm(dir, { recursive: true, force: true });
});

describe('resource resolution uses the owning component', () => {
  it('by identity and referencePath', async () => {
    const set = await fetchWithReferences(repo, { name: APP, version: '1.1.0' });
    const own = resolveResource(set, set.root, { name: 'config' });
    expect(own.component.name).toBe(APP);
    const viaRef = resolveResource(set, set.root, { name: 'config' }, [{ name: 'base' }]);
    expect(viaRef.component.name).toBe(BASE);
    expect(viaRef.path.map((c) => c.name)).toEqual([APP, BASE]);
    const access = await openResourceAccess(viaRef.component, viaRef.resource, { repository: repo });
    if (access.kind !== 'blob') throw new Error('expected blob');
    expect((await readBounded(await access.open(), 1 << 20, 't')).toString()).toBe('base: config\n');
    expect(() => resolveResource(set, set.root, { name: 'nope' })).toThrow(ResourceNotFoundError);
    expect(() => resolveResource(set, set.root, { name: 'config' }, [{ name: 'nope' }])).toThrow(ReferenceNotFoundError);
    expect(resolveResource(set, set.root, { name: 'config', version: '1.1.0' }).resource.version).toBe('1.1.0');
    expect(() => resolveResource(set, set.root, { name: 'config', version: '9' })).toThrow(ResourceNotFoundError);
  });
  it('duplicate names need extraIdentity/version to select', () => {
    const cd = parseComponentDescriptor(readFileSync(join(TESTDATA, 'normalisation/compdesc-duplicate-resource.input.yaml')));
    expect(() => resolveResource([cd], cd, { name: 'image' })).toThrow(AmbiguousResourceError);
    expect(resolveResource([cd], cd, { name: 'image', version: '2.0.0' }).resource.version).toBe('2.0.0');
    const x = parseComponentDescriptor(readFileSync(join(TESTDATA, 'normalisation/signing-extra-identity.input.yaml')));
    expect(resolveResource([x], x, { name: 'test', version: 'v2' }).resource.digest?.value).toMatch(/^920ce99f/);
  });
});
