/**
 * The configuration rules tests apply to a podinfo-style chart (`values.yaml` with `replicaCount` and
 * `image.repository`/`image.tag`, as components.ts `helmChart` writes it): what a user writes to localize the chart.
 */
import type { ConfigurationRule } from '../../shared/configure/index.js';

/** replicaCount: 3 */
export const REPLICAS_RULE: ConfigurationRule = {
  yamlsubst: { source: { value: 3 }, target: { file: { path: 'values.yaml', value: 'replicaCount' } } },
};

/** replicas 3, and the image localized from the component's `image` resource (repository and tag) */
export const PODINFO_CHART_RULES: ConfigurationRule[] = [
  REPLICAS_RULE,
  {
    yamlsubst: {
      source: { resource: { name: 'image' } },
      target: { file: { path: 'values.yaml', value: 'image.repository' } },
      transformation: { type: 'ImageNoTag' },
    },
  },
  {
    yamlsubst: {
      source: { resource: { name: 'image' } },
      target: { file: { path: 'values.yaml', value: 'image.tag' } },
      transformation: { type: 'Tag' },
    },
  },
];

/**
 * For a plain manifests tarball with `configmap.yaml` (data.color) and `deployment.yaml` (one container): the colour
 * set to green and the container image localized from the component's `image` resource (what Flux then applies).
 */
export const MANIFESTS_RULES: ConfigurationRule[] = [
  { yamlsubst: { source: { value: 'green' }, target: { file: { path: 'configmap.yaml', value: 'data.color' } } } },
  {
    yamlsubst: {
      source: { resource: { name: 'image' } },
      target: { file: { path: 'deployment.yaml', value: 'spec.template.spec.containers[0].image' } },
      transformation: { type: 'Image' },
    },
  },
];
