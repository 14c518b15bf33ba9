import { createReadStream } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readArchive } from '../../../shared/archive/index.js';
import type { OCIRepositoryObject, SnapshotObject } from '../../../shared/ports/index.js';
import { componentVersion } from '../../support/components.js';
import { PODINFO_CHART_RULES } from '../../support/podinfo.js';
import { ready } from '../../support/ready.js';
import { harness } from '../../support/stage-harness.js';

type H = Awaited<ReturnType<typeof harness>>;

async function layerFiles(h: H, snap: SnapshotObject): Promise<Map<string, string>> {
  const blob = await h.store.fetchLayer(snap.spec!.repository, snap.spec!.digest);
  const files = new Map<string, string>();
  try {
    for await (const e of readArchive(createReadStream(blob.path))) {
      if (e.type !== 'file') continue;
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c);
      files.set(e.path, Buffer.concat(chunks).toString('utf8'));
    }
  } finally {
    await blob.dispose();
  }
  return files;
}

describe('stages over MemoryKube + LayoutStore (in-process bus)', () => {
  let h: H;
  beforeEach(async () => {
    h = await harness();
    await h.addVersions([await componentVersion({ version: '1.0.0', image: { reference: 'ghcr.io/stefanprodan/podinfo:6.1.0' } })]);
    await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: h.ctf } });
    await h.apply('Component', 'podinfo', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' });
    await h.apply('Resource', 'chart', { componentRef: { name: 'podinfo' }, resource: { byReference: { resource: { name: 'chart' } } } });
    await h.apply('Configuration', 'chart-config', {
      target: { kind: 'Resource', name: 'chart' },
      rules: PODINFO_CHART_RULES,
    });
    await h.apply('Publication', 'chart', { source: { kind: 'Configuration', name: 'chart-config' } });
  });
  afterEach(async () => h.close());

  it('takes a Helm chart from Component to a Flux OCIRepository, and a repeat is a no-op', async () => {
    await h.bus.drain();
    for (const [kind, name] of [
      ['OCMRepository', 'repo'],
      ['Component', 'podinfo'],
      ['Resource', 'chart'],
      ['Configuration', 'chart-config'],
      ['Publication', 'chart'],
    ] as const) {
      expect(ready(await h.get(kind, name)), `${kind} ${name}`).toMatchObject({ status: 'True', reason: 'Succeeded' });
    }
    const cfgSnap = (await h.get<SnapshotObject>('Snapshot', 'configuration-chart-config'))!;
    expect(cfgSnap.spec!.blob.mediaType).toBe('application/vnd.cncf.helm.chart.content.v1.tar+gzip');
    expect(cfgSnap.spec!.tag).toBe('1.0.0');
    expect(ready(cfgSnap).status).toBe('True');
    expect(cfgSnap.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Configuration', name: 'chart-config', controller: true });

    const files = await layerFiles(h, cfgSnap);
    const values = files.get('podinfo/values.yaml')!;
    expect(values).toContain('replicaCount: 3');
    expect(values).toContain('repository: ghcr.io/stefanprodan/podinfo');
    expect(values).toMatch(/tag: "?6\.1\.0"?/);
    expect(values).toContain('# replicas of the deployment');

    const repo = (await h.get<OCIRepositoryObject>('OCIRepository', 'chart'))!;
    expect(repo.spec).toMatchObject({
      url: 'oci://registry.local:5000/team-a/configuration/chart-config',
      ref: { digest: cfgSnap.spec!.digest },
      layerSelector: { mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', operation: 'copy' },
      insecure: true,
    });

    // level-triggered and idempotent: a resync changes nothing and pushes nothing
    const before = JSON.stringify(await h.kube.list('Snapshot'));
    h.results.length = 0;
    h.bus.resync();
    await h.bus.drain();
    const applied = h.results.flatMap((r) => r.result?.objects ?? []).filter((o) => o.outcome === 'applied');
    expect(applied).toEqual([]);
    expect(JSON.stringify(await h.kube.list('Snapshot'))).toBe(before);
  });

  it('moves everything to a new component version on resync', async () => {
    await h.bus.drain();
    const old = (await h.get<OCIRepositoryObject>('OCIRepository', 'chart'))!.spec!.ref.digest;
    const oldResSnap = (await h.get<SnapshotObject>('Snapshot', 'resource-chart'))!;
    await h.addVersions([await componentVersion({ version: '1.1.0', image: { reference: 'ghcr.io/stefanprodan/podinfo:6.2.0' } })]);
    // spec.interval (default 10m) has not passed since the first check: a tick leaves the Component alone
    h.bus.resync();
    await h.bus.drain();
    const unchecked = await h.get('Component', 'podinfo');
    expect((unchecked!.status as { component?: { version?: string } }).component?.version).toBe('1.0.0');
    h.clock.advance(9 * 60_000);
    h.bus.resync();
    await h.bus.drain();
    expect(((await h.get('Component', 'podinfo'))!.status as { component?: { version?: string } }).component?.version).toBe('1.0.0');
    // 10 minutes after the check (less the tick slack of 30 s) the next tick asks the repository again
    h.clock.advance(60_000);
    h.bus.resync();
    await h.bus.drain();
    const comp = await h.get('Component', 'podinfo');
    expect((comp!.status as { component?: { version?: string } }).component?.version).toBe('1.1.0');
    const cfgSnap = (await h.get<SnapshotObject>('Snapshot', 'configuration-chart-config'))!;
    expect(cfgSnap.spec!.tag).toBe('1.1.0');
    const repo = (await h.get<OCIRepositoryObject>('OCIRepository', 'chart'))!;
    expect(repo.spec!.ref.digest).toBe(cfgSnap.spec!.digest);
    expect(repo.spec!.ref.digest).not.toBe(old);
    // the replaced manifest is gone from the registry
    expect(await h.store.hasManifest(oldResSnap.spec!.repository, oldResSnap.spec!.digest)).toBe(false);
    expect((await layerFiles(h, cfgSnap)).get('podinfo/values.yaml')).toMatch(/tag: "?6\.2\.0"?/);
  });

  it('deleting a Component removes its snapshot and manifest (no garbage collector)', async () => {
    h.kube.gc = false;
    await h.bus.drain();
    const snap = (await h.get<SnapshotObject>('Snapshot', 'component-podinfo'))!;
    expect(await h.store.hasManifest(snap.spec!.repository, snap.spec!.digest)).toBe(true);
    await h.kube.delete({ kind: 'Component', namespace: 'team-a', name: 'podinfo' });
    await h.bus.drain();
    expect(await h.get('Snapshot', 'component-podinfo')).toBeUndefined();
    expect(await h.store.hasManifest(snap.spec!.repository, snap.spec!.digest)).toBe(false);
    expect(ready(await h.get('Resource', 'chart'))).toMatchObject({ status: 'False', reason: 'ComponentIsNotReady' });
  });

  it('resolves a resource through referencePath using the referenced component\'s own descriptor', async () => {
    const child = await componentVersion({ version: '3.0.0' });
    child.descriptor.name = 'ocm.software/test/child';
    const parent = await componentVersion({ version: '1.5.0' });
    parent.descriptor.references = [{ name: 'child-ref', componentName: 'ocm.software/test/child', version: '3.0.0' }];
    await h.addVersions([child, parent]);
    await h.apply('Component', 'parent', { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '1.5.0' });
    await h.apply('Resource', 'child-manifests', {
      componentRef: { name: 'parent' },
      resource: { byReference: { resource: { name: 'manifests' }, referencePath: [{ name: 'child-ref' }] } },
    });
    await h.bus.drain();
    const res = await h.get('Resource', 'child-manifests');
    expect(ready(res)).toMatchObject({ status: 'True' });
    expect((res!.status as { component?: unknown }).component).toEqual({ name: 'ocm.software/test/child', version: '3.0.0' });
    const snap = (await h.get<SnapshotObject>('Snapshot', 'resource-child-manifests'))!;
    expect(snap.spec!.identity).toMatchObject({ 'component-name': 'ocm.software/test/child', 'resource-name': 'manifests' });
    expect((await layerFiles(h, snap)).get('deploy.yaml')).toContain('version: "3.0.0"');
  });

  it('recreates a Snapshot deleted by hand, and deleting a Publication removes its OCIRepository', async () => {
    h.kube.gc = false;
    await h.bus.drain();
    const before = (await h.get<SnapshotObject>('Snapshot', 'resource-chart'))!;
    await h.kube.delete({ kind: 'Snapshot', namespace: 'team-a', name: 'resource-chart' });
    await h.bus.drain();
    const after = (await h.get<SnapshotObject>('Snapshot', 'resource-chart'))!;
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
    expect(after.spec!.digest).toBe(before.spec!.digest);
    expect(ready(after).status).toBe('True');
    expect(await h.store.hasManifest(after.spec!.repository, after.spec!.digest)).toBe(true);
    await h.kube.delete({ kind: 'Publication', namespace: 'team-a', name: 'chart' });
    await h.bus.drain();
    expect(await h.get('OCIRepository', 'chart')).toBeUndefined();
  });

  it('reads rules from a ConfigMap or from a config Resource of the component (configRef)', async () => {
    await h.addVersions([
      await componentVersion({
        version: '1.0.1',
        rules: 'rules:\n  - yamlsubst:\n      source: {value: purple}\n      target: {file: {path: deploy.yaml, value: data.color}}\n',
      }),
    ]);
    await h.apply('Resource', 'manifests', { componentRef: { name: 'podinfo' }, resource: { byReference: { resource: { name: 'manifests' } } } });
    await h.apply('Resource', 'config', { componentRef: { name: 'podinfo' }, resource: { byReference: { resource: { name: 'config' } } } });
    h.kube.setConfigMap('team-a', 'rules', {
      'rules.yaml': '- yamlsubst:\n    source: {value: orange}\n    target: {file: {path: deploy.yaml, value: data.color}}\n',
    });
    await h.apply('Configuration', 'from-configmap', { target: { kind: 'Resource', name: 'manifests' }, configRef: { kind: 'ConfigMap', name: 'rules' } });
    await h.apply('Configuration', 'from-resource', { target: { kind: 'Resource', name: 'manifests' }, configRef: { kind: 'Resource', name: 'config' } });
    await h.bus.drain();
    for (const [name, color] of [
      ['from-configmap', 'orange'],
      ['from-resource', 'purple'],
    ] as const) {
      expect(ready(await h.get('Configuration', name)), name).toMatchObject({ status: 'True' });
      const snap = (await h.get<SnapshotObject>('Snapshot', `configuration-${name}`))!;
      expect((await layerFiles(h, snap)).get('deploy.yaml')).toContain(`color: ${color}`);
    }
  });

  it('reports object-level failures with reasons and no snapshot', async () => {
    await h.apply('Resource', 'missing', { componentRef: { name: 'podinfo' }, resource: { byReference: { resource: { name: 'nope' } } } });
    await h.apply('Configuration', 'bad-path', {
      target: { kind: 'Resource', name: 'chart' },
      rules: [{ yamlsubst: { source: { value: 1 }, target: { file: { path: 'no-such-file.yaml', value: 'a.b' } } } }],
    });
    await h.bus.drain();
    expect(ready(await h.get('Resource', 'missing'))).toMatchObject({ status: 'False', reason: 'ResolveResourceFailed' });
    expect(ready(await h.get('Resource', 'missing')).message).toContain('nope');
    expect(await h.get('Snapshot', 'resource-missing')).toBeUndefined();
    expect(ready(await h.get('Configuration', 'bad-path'))).toMatchObject({ status: 'False', reason: 'ConfigurationFailed' });
    expect(await h.get('Snapshot', 'configuration-bad-path')).toBeUndefined();
    expect(ready(await h.get('Publication', 'chart')).status).toBe('True');
  });
});
