/**
 * The four stages over one set of ports, in pipeline order — how every in-process host (the local runner, the
 * unit-test harness, benchmarks) wires them. Each Knative Service hosts one of them instead (functions/<stage>/main.ts).
 */
import type { ArtifactStore, ConfigureEngine, KubePort, Logger, OcmSource, Stage } from '../shared/ports/index.js';
import { layerText } from './adapters/layer-text.js';
import { createConfigureStage } from './configure/handler.js';
import { createDescriptorStage } from './descriptor/handler.js';
import { createPublishStage } from './publish/handler.js';
import { createResourceStage } from './resource/handler.js';

export interface StagePorts {
  kube: KubePort;
  store: ArtifactStore;
  ocm: OcmSource;
  engine: ConfigureEngine;
  log?: Logger;
  /** milliseconds since the epoch (tests pass their own clock to let an interval pass) */
  now?: () => number;
}

export function createStages(ports: StagePorts): Stage[] {
  const { kube, store, ocm, engine, log, now } = ports;
  const withLog = log ? { log } : {};
  return [
    createDescriptorStage({ kube, store, ocm, ...withLog, ...(now ? { now } : {}) }),
    createResourceStage({ kube, store, ocm, layerText, ...withLog }),
    createConfigureStage({ kube, store, ocm, engine, layerText, ...withLog }),
    createPublishStage({ kube, store, ...withLog }),
  ];
}
