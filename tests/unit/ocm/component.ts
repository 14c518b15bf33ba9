import type { ComponentDescriptor } from '../../../shared/ocm/index.js';

/** A valid v2 component descriptor with nothing in it but what `fields` sets (provider acme, version 1.0.0). */
export function component(name: string, fields: Partial<ComponentDescriptor> = {}): ComponentDescriptor {
  return {
    schemaVersion: 'v2',
    name,
    version: '1.0.0',
    provider: { name: 'acme' },
    repositoryContexts: [],
    sources: [],
    references: [],
    resources: [],
    signatures: [],
    ...fields,
  };
}
