import { describe, expect, it } from 'vitest';
import {
  ArtifactFormatError,
  assertNoReferenceCycle,
  descriptorSet,
  fetchWithReferences,
  findReferenceCycle,
  ReferenceCycleError,
  VersionNotFoundError,
  type ComponentDescriptor,
  type ComponentRepository,
} from '../../../shared/ocm/index.js';
import { component } from './component.js';

/** A component version `name:1` referencing `refs` (each at version 1). */
function cv(name: string, ...refs: string[]): ComponentDescriptor {
  return component(name, { version: '1', references: refs.map((r) => ({ name: r.split('/').pop() ?? r, componentName: r, version: '1' })) });
}

/** A repository over a list of descriptors (a test double of the port, not of a real store) that counts its reads. */
function memoryRepository(cds: ComponentDescriptor[]): ComponentRepository & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    spec: { type: 'CommonTransportFormat', filePath: '/memory' },
    location: 'memory',
    listVersions: async (name) => cds.filter((c) => c.name === name).map((c) => c.version),
    getDescriptor: async (name, version) => {
      reads.push(`${name}:${version}`);
      const cd = cds.find((c) => c.name === name && c.version === version);
      if (!cd) throw new VersionNotFoundError(name, version, 'memory');
      return cd;
    },
    getLocalBlob: async () => {
      throw new Error('no local blobs here');
    },
    close: async () => undefined,
  };
}

describe('references', () => {
  it('descriptorSet keeps the root first, drops repeats, and looks versions up by name and version', () => {
    const root = cv('a', 'b');
    const set = descriptorSet(root, [cv('b'), cv('b'), cv('a')]);
    expect(set.all.map((c) => c.name)).toEqual(['a', 'b']);
    expect(set.get('b', '1')?.name).toBe('b');
    expect(set.get('b', '2')).toBeUndefined();
  });

  it('fetchWithReferences reads each referenced version once, breadth first', async () => {
    // a -> b, c; b -> d; c -> d
    const repo = memoryRepository([cv('a', 'b', 'c'), cv('b', 'd'), cv('c', 'd'), cv('d')]);
    const set = await fetchWithReferences(repo, { name: 'a', version: '1' });
    expect(set.all.map((c) => c.name)).toEqual(['a', 'b', 'c', 'd']);
    expect([...repo.reads].sort()).toEqual(['a:1', 'b:1', 'c:1', 'd:1']);
  });

  it('fetchWithReferences ends on a cycle, and refuses a graph larger than maxComponents', async () => {
    const repo = memoryRepository([cv('a', 'b'), cv('b', 'a')]);
    expect((await fetchWithReferences(repo, { name: 'a', version: '1' })).all.map((c) => c.name)).toEqual(['a', 'b']);
    const wide = memoryRepository([cv('a', 'b', 'c', 'd'), cv('b'), cv('c'), cv('d')]);
    await expect(fetchWithReferences(wide, { name: 'a', version: '1' }, { maxComponents: 3 })).rejects.toThrow(ArtifactFormatError);
    await expect(fetchWithReferences(wide, { name: 'a', version: '1' }, { maxComponents: 3 })).rejects.toThrow(
      'the reference graph of a:1 has more than 3 component versions',
    );
  });

  it('findReferenceCycle names the cycle from where it closes; a diamond is no cycle', () => {
    const cyclic = descriptorSet(cv('a', 'b'), [cv('b', 'c'), cv('c', 'b')]);
    expect(findReferenceCycle(cyclic.root, cyclic)).toEqual(['b:1', 'c:1', 'b:1']);
    const diamond = descriptorSet(cv('a', 'b', 'c'), [cv('b', 'd'), cv('c', 'd'), cv('d')]);
    expect(findReferenceCycle(diamond.root, diamond)).toBeUndefined();
    // a reference whose version is not in the set is not followed (verification reports it as missing)
    const missing = descriptorSet(cv('a', 'zzz'));
    expect(findReferenceCycle(missing.root, missing)).toBeUndefined();
  });

  it('assertNoReferenceCycle throws a ReferenceCycleError carrying the cycle', () => {
    const self = descriptorSet(cv('a', 'a'));
    const err = (() => {
      try {
        assertNoReferenceCycle(self.root, self);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ReferenceCycleError);
    expect((err as ReferenceCycleError).cycle).toEqual(['a:1', 'a:1']);
    expect((err as Error).message).toBe('component reference cycle: a:1 -> a:1');
  });
});
