import type { ArtifactStore, KubePort, Logger } from '../../shared/ports/index.js';

export interface PublishDeps {
  kube: KubePort;
  store: ArtifactStore;
  log?: Logger;
}
