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
