import { anyObject, arr, bool, enumOf, obj, str } from '../builder.js';
import { checkedStatus, conditions, interval, localRef, observedGeneration } from '../common.js';
import { defineKind } from '../kind.js';

/** OCM component name (from the OCM descriptor schema): DNS-prefixed path. */
export const COMPONENT_NAME =
  '^[a-z][-a-z0-9]*([.][a-z][-a-z0-9]*)*[.][a-z]{2,}(/[a-z][-a-z0-9_]*([.][a-z][-a-z0-9_]*)*)+$';

export const verification = obj(
  {
    signature: str({ description: 'name of the signature in the component descriptor', minLength: 1, maxLength: 256 }),
    secretRef: localRef(
      'Secret whose data key <signature> holds the PEM public key, or the CA certificates the signing certificate must chain to; ' +
        'an optional data key rekor.pub holds the Rekor public key that sigstore entries must be signed by',
    ),
    value: str({ description: 'the PEM (or base64) public key or CA certificates, inline', minLength: 1, maxLength: 16384 }),
    issuer: str({
      description:
        'who must have signed, for certificate based signatures: for RSA with an X.509 chain a distinguished name (or common name) ' +
        "the signing certificate's subject must match, as OCM's --issuer; for sigstore-v2 the OIDC issuer in the Fulcio certificate",
      minLength: 1,
      maxLength: 1024,
    }),
    subject: str({
      description: 'sigstore-v2: the identity the Fulcio certificate certifies (its email or URI subject alternative name)',
      minLength: 1,
      maxLength: 1024,
    }),
  },
  {
    required: ['signature'],
    rules: [{ rule: 'has(self.secretRef) != has(self.value)', message: 'a verify entry needs exactly one of secretRef or value' }],
  },
);

export const componentSpec = obj(
  {
    repositoryRef: localRef('the OCMRepository to read the component from'),
    component: str({ description: 'OCM component name, e.g. ocm.software/podinfo', maxLength: 255, pattern: COMPONENT_NAME }),
    semver: str({ description: 'semver constraint the version must satisfy, e.g. ">=1.0.0 <2.0.0" or "1.2.x"', minLength: 1, maxLength: 256 }),
    semverFilter: str({ description: 'regular expression the version must match before the semver constraint applies', minLength: 1, maxLength: 1024 }),
    downgradePolicy: enumOf(['Allow', 'Deny', 'Enforce'] as const, {
      description: 'what to do when the highest matching version is lower than the one in status',
      default: 'Deny',
    }),
    verify: arr(verification, {
      description: 'signatures that must verify before the component is used',
      maxItems: 16,
      listType: 'map',
      listMapKeys: ['signature'],
    }),
    interval: interval('the repository is asked for new versions'),
    suspend: bool({ description: 'stop processing this object', default: false }),
  },
  { required: ['repositoryRef', 'component', 'semver'] },
);

export const componentInfo = obj(
  {
    name: str({ maxLength: 255 }),
    version: str({ maxLength: 256 }),
    digest: str({ description: 'digest of the normalised component descriptor', maxLength: 256 }),
    repositorySpec: anyObject({ description: 'the repository it was read from' }),
  },
  { required: ['name', 'version'] },
);

export const componentStatus = obj({
  conditions,
  observedGeneration,
  component: componentInfo,
  snapshotRef: localRef('the Snapshot holding the component descriptors (root and references)'),
  ...checkedStatus('the repository was last asked for versions'),
});

export const ComponentKind = defineKind({
  kind: 'Component',
  plural: 'components',
  singular: 'component',
  shortNames: ['ocmcomp', 'comp'],
  description: 'An OCM component whose highest matching version is resolved, verified and snapshotted.',
  spec: componentSpec,
  status: componentStatus,
  columns: [
    { name: 'Version', type: 'string', jsonPath: '.status.component.version' },
    { name: 'Component', type: 'string', jsonPath: '.spec.component', priority: 1 },
    { name: 'Snapshot', type: 'string', jsonPath: '.status.snapshotRef.name', priority: 1 },
  ],
});
