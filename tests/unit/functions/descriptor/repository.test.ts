import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ocmSourceAdapter } from '../../../../functions/adapters/ocm-source.js';
import { reconcileRepository, repositoryAccess } from '../../../../functions/descriptor/repository.js';
import { Reason, type OCMRepositoryObject } from '../../../../shared/ports/index.js';
import { componentVersion } from '../../../support/components.js';
import { ready } from '../../../support/ready.js';
import { NS, harness } from '../../../support/stage-harness.js';

type H = Awaited<ReturnType<typeof harness>>;
const key = { kind: 'OCMRepository' as const, namespace: NS, name: 'repo' };

describe('the descriptor stage on an OCMRepository', () => {
  let h: H;
  let nowMs: number;
  const ocm = ocmSourceAdapter();
  const deps = () => ({ kube: h.kube, store: h.store, ocm, now: () => nowMs });
  beforeEach(async () => {
    h = await harness();
    nowMs = Date.parse('2026-03-01T12:00:00Z');
    await h.addVersions([await componentVersion({ version: '1.0.0' })]);
  });
  afterEach(async () => h.close());

  it('a reachable repository is Ready with the time it was checked; a tick within the interval does not ask again', async () => {
    await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: h.ctf } });
    const first = await reconcileRepository(deps(), key, 'event');
    expect(first.message).toBe(`repository ctf://${h.ctf} is reachable`);
    const repo = (await h.get<OCMRepositoryObject>('OCMRepository', 'repo'))!;
    expect(ready(repo)).toMatchObject({ status: 'True', reason: Reason.Succeeded });
    expect(repo.status?.lastCheckedAt).toBe(new Date(nowMs).toISOString());
    nowMs += 60_000;
    await reconcileRepository(deps(), key, 'tick');
    expect((await h.get<OCMRepositoryObject>('OCMRepository', 'repo'))!.status?.lastCheckedAt).toBe(repo.status?.lastCheckedAt);
    nowMs += 10 * 60_000;
    await reconcileRepository(deps(), key, 'tick');
    expect((await h.get<OCMRepositoryObject>('OCMRepository', 'repo'))!.status?.lastCheckedAt).toBe(new Date(nowMs).toISOString());
  });

  it('a repository that is not there is Ready=False, and its access carries the pull Secret it names', async () => {
    await h.apply('OCMRepository', 'repo', { repositorySpec: { type: 'CommonTransportFormat', filePath: `${h.ctf}-missing` } });
    const result = await reconcileRepository(deps(), key, 'event');
    expect(result).toMatchObject({ outcome: 'failed', reason: Reason.RepositorySpecInvalid });
    expect(ready(await h.get('OCMRepository', 'repo'))).toMatchObject({ status: 'False', reason: Reason.RepositorySpecInvalid });
    expect(result.message).toContain('-missing');
    h.kube.setSecret(NS, 'pull', { '.dockerconfigjson': '{"auths":{}}' });
    await h.apply('OCMRepository', 'oci', { repositorySpec: { type: 'OCIRegistry', baseUrl: 'ghcr.io' }, secretRef: { name: 'pull' } });
    const access = await repositoryAccess(deps(), (await h.get<OCMRepositoryObject>('OCMRepository', 'oci'))!);
    expect(access.spec).toEqual({ type: 'OCIRegistry', baseUrl: 'ghcr.io' });
    expect(access.dockerConfig?.toString()).toBe('{"auths":{}}');
  });
});
