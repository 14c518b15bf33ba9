/** Builds the CustomResourceDefinition for a kind from its schemas: the only place a CRD is defined. */
import type { JSONSchemaProps } from './builder.js';
import { GROUP, VERSION } from './common.js';
import { ageColumn, readyColumns, statusColumn, type KindDef } from './kind.js';

export const CATEGORY = 'ocm';

export function openAPISchema(def: KindDef): JSONSchemaProps {
  const root: JSONSchemaProps = {
    type: 'object',
    description: def.description,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: def.spec,
      status: def.status,
    },
    required: ['spec'],
  };
  if (def.rootRules !== undefined && def.rootRules.length > 0) root['x-kubernetes-validations'] = def.rootRules;
  return root;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    scope: 'Namespaced';
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: KindDef['columns'];
      schema: { openAPIV3Schema: JSONSchemaProps };
    }>;
  };
}

export function crdFor(def: KindDef): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'ocm-knative' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: [CATEGORY],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [...readyColumns, ...def.columns, statusColumn, ageColumn],
          schema: { openAPIV3Schema: openAPISchema(def) },
        },
      ],
    },
  };
}
