import type { ArtifactStore, KubePort, Logger, OcmSource } from '../../shared/ports/index.js';

export interface DescriptorDeps {
  kube: KubePort;
  store: ArtifactStore;
  ocm: OcmSource;
  log?: Logger;
  /** milliseconds since the epoch (tests pass their own to let an interval pass) */
  now?: () => number;
}

export function nowMs(deps: DescriptorDeps): number {
  return (deps.now ?? Date.now)();
}
