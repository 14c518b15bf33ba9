/**
 * What the stage kit's tests stand on: the in-memory API server (CRD validation, owner GC) and an artifact store over
 * an OCI layout folder, the same adapters the local runner uses; plus a Component owner and a pushed artifact.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactStoreAdapter } from '../../../functions/adapters/artifact-store.js';
import { MemoryKube, crdValidation } from '../../../functions/adapters/memory-kube.js';
import { MediaType } from '../../../shared/oci/media-types.js';
import { API_VERSION, type ComponentObject, type PushedArtifact } from '../../../shared/ports/index.js';
import { LayoutStore } from '../../../shared/snapshot/index.js';
import { repositoryName } from '../../../shared/stagekit/names.js';
import { blobFromBytes } from '../../../shared/stagekit/temp.js';

export const NS = 'team-a';

export async function rig() {
  const dir = await mkdtemp(join(tmpdir(), 'ocmk-stagekit-'));
  const kube = new MemoryKube({ validate: crdValidation });
  const store = artifactStoreAdapter(new LayoutStore(join(dir, 'registry')), { publicHost: 'registry.local:5000', flux: { insecure: true } });
  return {
    kube,
    store,
    deps: { kube, store },
    /** a Component (stored, so it has a uid and generation 1) */
    async component(name = 'podinfo'): Promise<ComponentObject> {
      return kube.upsert<ComponentObject>({
        apiVersion: API_VERSION,
        kind: 'Component',
        metadata: { name, namespace: NS },
        spec: { repositoryRef: { name: 'repo' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' },
      });
    },
    /** pushes `text` as the single-layer artifact of Component `owner`, tagged `version` */
    async push(owner: string, version: string, text: string): Promise<PushedArtifact> {
      const content = await blobFromBytes(text, MediaType.ComponentDescriptors, 'component-descriptors.yaml');
      try {
        return await store.pushSingleLayer({
          repository: repositoryName(NS, 'Component', owner),
          tag: version,
          kind: 'component-descriptors',
          content,
          annotations: { component: { name: 'ocm.software/test/podinfo', version } },
        });
      } finally {
        await content.dispose();
      }
    },
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
