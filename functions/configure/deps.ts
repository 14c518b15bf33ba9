import type { ArtifactStore, ConfigureEngine, KubePort, LayerText, Logger, OcmSource } from '../../shared/ports/index.js';

export interface ConfigureDeps {
  kube: KubePort;
  store: ArtifactStore;
  ocm: OcmSource;
  engine: ConfigureEngine;
  layerText: LayerText;
  log?: Logger;
}
