import type { ArtifactStore, KubePort, LayerText, Logger, OcmSource } from '../../shared/ports/index.js';

export interface ResourceDeps {
  kube: KubePort;
  store: ArtifactStore;
  ocm: OcmSource;
  layerText: LayerText;
  log?: Logger;
}
