/**
 * The four functions' real mains (functions/<stage>/main.ts) as separate processes, configured only by env vars
 * (KUBECONFIG, REGISTRY_URL, INSECURE_REGISTRIES) like a Knative Service: a manifests tarball goes from Component
 * to OCIRepository through them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OCIRepositoryObject, SnapshotObject } from '../../../shared/ports/index.js';
import { componentVersion } from '../../support/components.js';
import { isReadyNow } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import { startPipeline, type Pipeline } from './env.js';

describe('e2e: the function mains as processes', () => {
  let p: Pipeline;
  beforeAll(async () => {
    p = await startPipeline({ processes: true });
  });
  afterAll(async () => p?.stop());

  it('runs the pipeline through the four mains', async () => {
    await p.pushSource(await componentVersion({ version: '2.0.0' }));
    await p.create('OCMRepository', 'source', { repositorySpec: { type: 'OCIRegistry', baseUrl: p.sourceBaseUrl } });
    await p.create('Component', 'app', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/podinfo', semver: '^2.0.0' });
    await p.create('Resource', 'manifests', { componentRef: { name: 'app' }, resource: { byReference: { resource: { name: 'manifests' } } } });
    await p.create('Configuration', 'manifests', {
      target: { kind: 'Resource', name: 'manifests' },
      rules: [{ yamlsubst: { source: { value: 'red' }, target: { file: { path: 'deploy.yaml', value: 'data.color' } } } }],
    });
    await p.create('Publication', 'manifests', { source: { kind: 'Configuration', name: 'manifests' } });
    const repo = await waitFor('OCIRepository', async () =>
      isReadyNow(await p.get('Publication', 'manifests')) ? ((await p.getOCIRepository('manifests')) as OCIRepositoryObject) : undefined,
    );
    const snap = (await p.get('Snapshot', 'configuration-manifests')) as SnapshotObject;
    expect(repo.spec!.ref.digest).toBe(snap.spec!.digest);
    expect(snap.spec!.tag).toBe('2.0.0');
    await p.driver.settle();
    expect(p.driver.deadLetters.map((d) => `${d.stage} ${d.event.type} ${d.status} ${d.body}`)).toEqual([]);
    // every delivery got a status the broker treats as final: 2xx, or 4xx for events that are not ours
    expect(p.driver.deliveries.filter((d) => d.status >= 500)).toEqual([]);
  });
});
