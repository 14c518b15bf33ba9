/**
 * Delivery semantics the stages must survive (Knative Eventing's delivery contract, docs/design.md §4): Reference-mode events without payload, duplicates,
 * no ordering. The end state must be the same as with ordered single delivery.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { OCIRepositoryObject, SnapshotObject } from '../../../shared/ports/index.js';
import { componentVersion } from '../../support/components.js';
import { ready } from '../../support/ready.js';
import { harness } from '../../support/stage-harness.js';

type H = Awaited<ReturnType<typeof harness>>;

async function scenario(h: H): Promise<string> {
  await h.addVersions([await componentVersion({ version: '1.0.0', image: { reference: 'ghcr.io/stefanprodan/podinfo:6.1.0' } })]);
  await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: h.ctf } });
  await h.apply('Component', 'podinfo', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' });
  await h.apply('Resource', 'manifests', { componentRef: { name: 'podinfo' }, resource: { byReference: { resource: { name: 'manifests' } } } });
  await h.apply('Configuration', 'manifests', {
    target: { kind: 'Resource', name: 'manifests' },
    rules: [{ yamlsubst: { source: { value: 'green' }, target: { file: { path: 'deploy.yaml', value: 'data.color' } } } }],
  });
  await h.apply('Publication', 'manifests', { source: { kind: 'Configuration', name: 'manifests' } });
  await h.bus.drain(5000);
  for (const [kind, name] of [
    ['Component', 'podinfo'],
    ['Resource', 'manifests'],
    ['Configuration', 'manifests'],
    ['Publication', 'manifests'],
  ] as const) {
    expect(ready(await h.get(kind, name)), `${kind} ${name}`).toMatchObject({ status: 'True' });
  }
  const snap = (await h.get<SnapshotObject>('Snapshot', 'configuration-manifests'))!;
  const repo = (await h.get<OCIRepositoryObject>('OCIRepository', 'manifests'))!;
  expect(repo.spec!.ref.digest).toBe(snap.spec!.digest);
  return snap.spec!.digest;
}

describe('delivery semantics', () => {
  let hs: H[] = [];
  afterEach(async () => {
    await Promise.all(hs.map((h) => h.close()));
    hs = [];
  });

  it('Reference mode, duplicated and shuffled deliveries reach the same digests as ordered delivery', async () => {
    const ordered = await harness();
    const chaotic = await harness({ mode: 'Reference', duplicate: true, shuffleSeed: 42 });
    hs.push(ordered, chaotic);
    const a = await scenario(ordered);
    const b = await scenario(chaotic);
    expect(b).toBe(a);
    expect(chaotic.results.filter((r) => r.error)).toEqual([]);
  });

  it('a resync tick scoped by namespace and kinds only touches what it names', async () => {
    const h = await harness();
    hs.push(h);
    await scenario(h);
    await h.addVersions([await componentVersion({ version: '1.2.0' })]);
    h.intervalPassed();
    const version = async () => ((await h.get('Component', 'podinfo'))!.status as { component?: { version?: string } }).component?.version;
    h.bus.resync({ namespace: 'someone-else' });
    await h.bus.drain();
    expect(await version()).toBe('1.0.0');
    h.bus.resync({ kinds: ['Resource', 'Publication'] });
    await h.bus.drain();
    expect(await version()).toBe('1.0.0');
    h.bus.resync({ namespace: 'team-a', kinds: ['Component'] });
    await h.bus.drain();
    expect(await version()).toBe('1.2.0');
  });
});
