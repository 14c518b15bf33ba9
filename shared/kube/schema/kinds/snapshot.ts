import { int, obj, str } from '../builder.js';
import { conditions, digest, identity, observedGeneration, OCI_REPOSITORY, OCI_TAG } from '../common.js';
import { defineKind } from '../kind.js';

export const snapshotSpec = obj(
  {
    identity: identity('what the artifact is (component, version, resource, ...)'),
    repository: str({
      description: 'repository in the internal registry, <namespace>/<kind>/<name>',
      minLength: 1,
      maxLength: 255,
      pattern: OCI_REPOSITORY,
      rules: [{ rule: 'self == oldSelf', message: 'repository is immutable (one repository per producer)' }],
    }),
    digest: digest('manifest digest of the artifact'),
    tag: str({ description: 'tag of the manifest', maxLength: 128, pattern: OCI_TAG }),
    blob: obj(
      {
        digest: digest('digest of the single layer'),
        size: int({ minimum: 0, format: 'int64' }),
        mediaType: str({ minLength: 1, maxLength: 255 }),
      },
      { description: 'the single layer', required: ['digest', 'size', 'mediaType'] },
    ),
  },
  { required: ['identity', 'repository', 'digest', 'blob'] },
);

export const snapshotStatus = obj({
  conditions,
  observedGeneration,
  repositoryURL: str({ description: 'where to pull the artifact from, e.g. oci://registry.ns.svc/ns/resource/name', maxLength: 2048 }),
  digest: digest('the manifest digest that was verified in the registry'),
});

export const SnapshotKind = defineKind({
  kind: 'Snapshot',
  plural: 'snapshots',
  singular: 'snapshot',
  shortNames: ['ocmsnap', 'snap'],
  description: 'An immutable single-layer OCI artifact in the internal registry, produced by one stage.',
  spec: snapshotSpec,
  status: snapshotStatus,
  columns: [
    { name: 'Digest', type: 'string', jsonPath: '.spec.digest' },
    { name: 'Repository', type: 'string', jsonPath: '.spec.repository', priority: 1 },
  ],
});
