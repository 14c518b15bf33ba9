import { anyObject, arr, bool, mapOf, obj, str } from '../builder.js';
import { conditions, localRef, namedIdentity, observedGeneration } from '../common.js';
import { defineKind } from '../kind.js';

export const resourceReference = obj(
  {
    resource: namedIdentity('identity of the resource in its component, e.g. {name: chart}'),
    referencePath: arr(namedIdentity('identity of a component reference'), {
      description: 'component references to follow from the root component to the one holding the resource',
      maxItems: 16,
    }),
  },
  { required: ['resource'] },
);

export const resourceSpec = obj(
  {
    componentRef: localRef('the Component whose descriptor holds the resource'),
    resource: obj({ byReference: resourceReference }, { description: 'which resource', required: ['byReference'] }),
    skipVerify: bool({ description: 'do not verify the resource digest against the descriptor', default: false }),
    suspend: bool({ description: 'stop processing this object', default: false }),
  },
  { required: ['componentRef', 'resource'] },
);

export const resourceInfo = obj(
  {
    name: str({ maxLength: 1024 }),
    type: str({ maxLength: 1024 }),
    version: str({ maxLength: 256 }),
    extraIdentity: mapOf(str({ maxLength: 1024 }), { maxProperties: 32 }),
    access: anyObject({ description: 'the access spec from the descriptor' }),
    digest: str({ description: 'the resource digest from the descriptor (hashAlgorithm:normalisation:value)', maxLength: 512 }),
    mediaType: str({ description: 'OCM media type of the resource blob', maxLength: 512 }),
  },
  { required: ['name'] },
);

export const resourceStatus = obj({
  conditions,
  observedGeneration,
  resource: resourceInfo,
  component: obj({ name: str({ maxLength: 255 }), version: str({ maxLength: 256 }) }, { description: 'the component version the resource was taken from', required: ['name', 'version'] }),
  snapshotRef: localRef('the Snapshot holding the resource'),
});

export const ResourceKind = defineKind({
  kind: 'Resource',
  plural: 'resources',
  singular: 'resource',
  shortNames: ['ocmres'],
  description: 'One resource of a Component, fetched, digest-verified and snapshotted.',
  spec: resourceSpec,
  status: resourceStatus,
  columns: [
    { name: 'Version', type: 'string', jsonPath: '.status.resource.version' },
    { name: 'Snapshot', type: 'string', jsonPath: '.status.snapshotRef.name' },
  ],
});
