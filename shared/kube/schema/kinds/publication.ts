import { bool, enumOf, obj, str } from '../builder.js';
import { conditions, digest, interval, localRef, objectName, observedGeneration } from '../common.js';
import { defineKind } from '../kind.js';

/** oci://host[:port]/repository, no tag or digest (written with [.] so it needs no escaping inside CEL) */
export const OCI_URL = '^oci://[a-zA-Z0-9.-]+(:[0-9]+)?(/[a-z0-9]+(([.]|_|__|-+)[a-z0-9]+)*)+$';

export const publicationSpec = obj(
  {
    source: obj(
      { kind: enumOf(['Resource', 'Configuration'] as const), name: objectName('name of the source, in the same namespace') },
      { description: 'the object whose Snapshot is published', required: ['kind', 'name'] },
    ),
    flux: obj(
      {
        interval: interval('Flux checks the OCIRepository'),
        layerSelector: obj(
          {
            mediaType: str({ description: 'layer media type (default: the Snapshot layer media type)', minLength: 1, maxLength: 255 }),
            operation: enumOf(['extract', 'copy'] as const, { default: 'extract' }),
          },
          { required: ['mediaType'] },
        ),
      },
      { description: 'the Flux OCIRepository created for the source', default: {} },
    ),
    target: obj(
      {
        url: str({
          description: 'external repository to copy the artifact to, oci://host[:port]/repository',
          maxLength: 2048,
          rules: [{ rule: `self.matches('${OCI_URL}')`, message: 'target.url must look like oci://host[:port]/repository (lowercase path, no tag or digest)' }],
        }),
        secretRef: localRef('Secret of type kubernetes.io/dockerconfigjson with push credentials'),
        insecure: bool({ description: 'allow plain HTTP', default: false }),
      },
      { description: 'optionally also copy the artifact to an external registry', required: ['url'] },
    ),
    suspend: bool({ description: 'stop processing this object', default: false }),
  },
  { required: ['source'] },
);

export const publicationStatus = obj({
  conditions,
  observedGeneration,
  ociRepositoryRef: localRef('the Flux OCIRepository created for this publication'),
  published: obj(
    {
      url: str({ description: 'oci:// URL of the published repository', maxLength: 2048 }),
      digest: digest('manifest digest'),
      tag: str({ maxLength: 128 }),
    },
    { required: ['url', 'digest'] },
  ),
});

export const PublicationKind = defineKind({
  kind: 'Publication',
  plural: 'publications',
  singular: 'publication',
  shortNames: ['ocmpub', 'pub'],
  description: 'Hands a Snapshot to Flux (OCIRepository) and optionally copies it to an external registry.',
  spec: publicationSpec,
  status: publicationStatus,
  columns: [
    { name: 'URL', type: 'string', jsonPath: '.status.published.url' },
    { name: 'Digest', type: 'string', jsonPath: '.status.published.digest', priority: 1 },
  ],
});
