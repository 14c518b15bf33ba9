import { describe, expect, it } from 'vitest';
import { MemoryKube } from '../../../functions/adapters/memory-kube.js';
import { API_VERSION, ObjectFailure, Reason, type KubeObject } from '../../../shared/ports/index.js';
import { dockerConfigFrom } from '../../../shared/stagekit/credentials.js';

const repo: KubeObject = { apiVersion: API_VERSION, kind: 'OCMRepository', metadata: { name: 'repo', namespace: 'n' } };

describe('dockerConfigFrom', () => {
  it('reads .dockerconfigjson (or config.json) of the named Secret; no name, no credentials', async () => {
    const kube = new MemoryKube();
    kube.setSecret('n', 'pull', { '.dockerconfigjson': '{"auths":{}}' });
    kube.setSecret('n', 'plain', { 'config.json': '{"auths":{"r":{}}}' });
    expect((await dockerConfigFrom(kube, repo, 'pull', 'spec.secretRef'))?.toString()).toBe('{"auths":{}}');
    expect((await dockerConfigFrom(kube, repo, 'plain', 'spec.secretRef'))?.toString()).toBe('{"auths":{"r":{}}}');
    expect(await dockerConfigFrom(kube, repo, undefined, 'spec.secretRef')).toBeUndefined();
  });

  it('a missing Secret or one without the key is ConfigFetchFailed naming the field', async () => {
    const kube = new MemoryKube();
    kube.setSecret('n', 'wrong', { token: 'x' });
    const missing = await dockerConfigFrom(kube, repo, 'absent', 'spec.secretRef').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ObjectFailure);
    expect(missing).toMatchObject({ reason: Reason.ConfigFetchFailed, message: 'OCMRepository repo: spec.secretRef Secret absent not found' });
    await expect(dockerConfigFrom(kube, repo, 'wrong', 'spec.target.secretRef')).rejects.toMatchObject({
      reason: Reason.ConfigFetchFailed,
      message: 'OCMRepository repo: spec.target.secretRef Secret wrong has no .dockerconfigjson key',
    });
  });
});
