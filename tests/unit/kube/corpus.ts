/**
 * Example objects shared by the unit tests (local validation) and the integration tests (the real
 * apiserver + webhook), so both prove the same behaviour on the same data.
 */
import type { Component, Configuration, OCMRepository, OurObject, Publication, Resource, Snapshot } from '../../../shared/kube/types.js';
import { MediaType } from '../../../shared/oci/media-types.js';

const API = 'serverless.ocm.software/v1alpha1';
const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;

export const validRepository: OCMRepository = {
  apiVersion: API,
  kind: 'OCMRepository',
  metadata: { name: 'acme' },
  spec: { repositorySpec: { type: 'OCIRegistry', baseUrl: 'ghcr.io/acme', subPath: 'ocm' }, secretRef: { name: 'ghcr-pull' } },
};
export const validCtfRepository: OCMRepository = {
  apiVersion: API,
  kind: 'OCMRepository',
  metadata: { name: 'local-ctf' },
  spec: { repositorySpec: { type: 'CommonTransportFormat', filePath: '/data/ctf', fileFormat: 'directory' }, interval: '1h30m' },
};
export const validComponent: Component = {
  apiVersion: API,
  kind: 'Component',
  metadata: { name: 'podinfo' },
  spec: {
    repositoryRef: { name: 'acme' },
    component: 'ocm.software/podinfo',
    semver: '>=6.0.0 <7.0.0',
    semverFilter: '^6\\.[0-9]+\\.[0-9]+$',
    verify: [{ signature: 'acme', secretRef: { name: 'acme-keys' } }, { signature: 'other', value: '-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----' }],
  },
};
export const validResource: Resource = {
  apiVersion: API,
  kind: 'Resource',
  metadata: { name: 'podinfo-chart' },
  spec: {
    componentRef: { name: 'podinfo' },
    resource: { byReference: { resource: { name: 'chart' }, referencePath: [{ name: 'backend', version: '1.0.0' }] } },
  },
};
export const validConfiguration: Configuration = {
  apiVersion: API,
  kind: 'Configuration',
  metadata: { name: 'podinfo-chart-prod' },
  spec: {
    target: { kind: 'Resource', name: 'podinfo-chart' },
    rules: [
      { yamlsubst: { source: { value: 3 }, target: { file: { path: 'values.yaml', value: 'replicaCount' } } } },
      {
        yamlsubst: {
          source: { resource: { name: 'image' } },
          target: { file: { path: 'values.yaml', value: 'image.repository' } },
          transformation: { type: 'Repository' },
        },
      },
      { goTemplate: { file: { path: 'templates/config.yaml' }, data: { env: 'prod' }, delimiters: { left: '[[', right: ']]' } } },
    ],
  },
};
export const validConfigRefConfiguration: Configuration = {
  apiVersion: API,
  kind: 'Configuration',
  metadata: { name: 'podinfo-chart-cm' },
  spec: { target: { kind: 'Configuration', name: 'podinfo-chart-prod' }, configRef: { kind: 'ConfigMap', name: 'prod-values' } },
};
export const validPublication: Publication = {
  apiVersion: API,
  kind: 'Publication',
  metadata: { name: 'podinfo' },
  spec: { source: { kind: 'Configuration', name: 'podinfo-chart-prod' }, target: { url: 'oci://registry.example.com:5000/mirror/podinfo' } },
};
export const validSnapshot: Snapshot = {
  apiVersion: API,
  kind: 'Snapshot',
  metadata: { name: 'resource-podinfo-chart' },
  spec: {
    identity: { 'component-name': 'ocm.software/podinfo', 'component-version': '6.7.1', 'resource-name': 'chart' },
    repository: 'default/resource/podinfo-chart',
    digest: D1,
    tag: '6.7.1',
    blob: { digest: D2, size: 12345, mediaType: MediaType.HelmChart },
  },
};

export const VALID: OurObject[] = [
  validRepository,
  validCtfRepository,
  validComponent,
  validResource,
  validConfiguration,
  validConfigRefConfiguration,
  validPublication,
  validSnapshot,
];

/** The defaults the apiserver (and admitObject) must fill in: [object, path, value]. */
export const DEFAULTS: Array<[OurObject, string, unknown]> = [
  [validRepository, 'spec.interval', '10m'],
  [validRepository, 'spec.suspend', false],
  [validComponent, 'spec.downgradePolicy', 'Deny'],
  [validComponent, 'spec.interval', '10m'],
  [validResource, 'spec.skipVerify', false],
  [validConfiguration, 'spec.suspend', false],
  [validConfigRefConfiguration, 'spec.configRef.key', 'rules.yaml'],
  [validPublication, 'spec.flux.interval', '10m'],
  [validPublication, 'spec.target.insecure', false],
];

function patch<T extends OurObject>(base: T, name: string, edit: (o: T & { spec: Record<string, unknown> }) => void): T {
  const o = structuredClone(base) as T & { spec: Record<string, unknown> };
  o.metadata.name = name;
  edit(o);
  return o;
}
const at = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

export interface InvalidCase {
  title: string;
  object: OurObject;
  /** field path the error is reported at */
  path: string;
  /** text the user must see (found in the apiserver's message and in ours) */
  message: string;
}

/** Rejected by the CRD itself (schema or CEL): no webhook needed. */
export const INVALID: InvalidCase[] = [
  {
    title: 'OCMRepository with an unknown repository type',
    object: patch(validRepository, 'bad-type', (o) => (at(o.spec.repositorySpec).type = 'S3')),
    path: 'spec.repositorySpec.type',
    message: 'Unsupported value: "S3"',
  },
  {
    title: 'OCIRegistry repository without baseUrl',
    object: patch(validRepository, 'no-baseurl', (o) => delete at(o.spec.repositorySpec).baseUrl),
    path: 'spec.repositorySpec',
    message: 'an OCIRegistry repositorySpec needs baseUrl',
  },
  {
    title: 'CTF repository with an OCIRegistry field',
    object: patch(validCtfRepository, 'ctf-baseurl', (o) => (at(o.spec.repositorySpec).baseUrl = 'ghcr.io/acme')),
    path: 'spec.repositorySpec',
    message: 'baseUrl, subPath and componentNameMapping belong to OCIRegistry',
  },
  {
    title: 'interval that is not a Go duration',
    object: patch(validRepository, 'bad-interval', (o) => (o.spec.interval = '10 minutes')),
    path: 'spec.interval',
    message: 'Invalid value: "10 minutes"',
  },
  {
    title: 'Component without semver',
    object: patch(validComponent, 'no-semver', (o) => delete at(o.spec).semver),
    path: 'spec.semver',
    message: 'Required value',
  },
  {
    title: 'Component name that is not DNS-prefixed',
    object: patch(validComponent, 'bad-name', (o) => (o.spec.component = 'podinfo')),
    path: 'spec.component',
    message: 'Invalid value: "podinfo"',
  },
  {
    title: 'unknown downgradePolicy',
    object: patch(validComponent, 'bad-policy', (o) => (at(o.spec).downgradePolicy = 'Sometimes')),
    path: 'spec.downgradePolicy',
    message: 'Unsupported value: "Sometimes"',
  },
  {
    title: 'verify entry with both secretRef and value',
    object: patch(validComponent, 'verify-both', (o) => (o.spec.verify = [{ signature: 'acme', secretRef: { name: 'k' }, value: 'key' }])),
    path: 'spec.verify[0]',
    message: 'a verify entry needs exactly one of secretRef or value',
  },
  {
    title: 'two verify entries for the same signature',
    object: patch(validComponent, 'verify-dup', (o) => (o.spec.verify = [{ signature: 'acme', value: 'a' }, { signature: 'acme', value: 'b' }])),
    path: 'spec.verify[1]',
    message: 'Duplicate value',
  },
  {
    title: 'Resource with an empty identity',
    object: patch(validResource, 'empty-identity', (o) => (at(at(o.spec.resource).byReference).resource = {})),
    path: 'spec.resource.byReference.resource',
    message: 'spec.resource.byReference.resource',
  },
  {
    title: 'Resource identity without name',
    object: patch(validResource, 'identity-no-name', (o) => (at(at(o.spec.resource).byReference).resource = { version: '1.0.0' })),
    path: 'spec.resource.byReference.resource',
    message: 'an identity must contain the attribute "name"',
  },
  {
    title: 'Configuration with both rules and configRef',
    object: patch(validConfiguration, 'rules-and-ref', (o) => (o.spec.configRef = { kind: 'ConfigMap', name: 'x' })),
    path: 'spec',
    message: 'set exactly one of rules or configRef',
  },
  {
    title: 'Configuration rule with both yamlsubst and goTemplate',
    object: patch(validConfiguration, 'rule-both', (o) => {
      const rules = o.spec.rules as Array<Record<string, unknown>>;
      rules[0]!['goTemplate'] = { file: { path: 'a.yaml' } };
    }),
    path: 'spec.rules[0]',
    message: 'a rule needs exactly one of yamlsubst or goTemplate',
  },
  {
    title: 'Configuration writing outside the archive',
    object: patch(validConfiguration, 'path-escape', (o) => {
      o.spec.rules = [{ yamlsubst: { source: { value: 1 }, target: { file: { path: '../etc/passwd', value: 'a' } } } }];
    }),
    path: 'spec.rules[0].yamlsubst.target.file.path',
    message: 'the file path must be relative and stay inside the archive',
  },
  {
    title: 'Configuration targeting itself',
    object: patch(validConfigRefConfiguration, 'selfish', (o) => (o.spec.target = { kind: 'Configuration', name: 'selfish' })),
    path: 'spec.target.name',
    message: 'a Configuration cannot target itself',
  },
  {
    title: 'transformation on a plain value',
    object: patch(validConfiguration, 'transform-value', (o) => {
      o.spec.rules = [{ yamlsubst: { source: { value: 'x' }, target: { file: { path: 'v.yaml', value: 'a' } }, transformation: { type: 'Tag' } } }];
    }),
    path: 'spec.rules[0].yamlsubst',
    message: 'transformation only applies to a resource source',
  },
  {
    title: 'yamlsubst with an empty source',
    object: patch(validConfiguration, 'empty-source', (o) => {
      o.spec.rules = [{ yamlsubst: { source: {}, target: { file: { path: 'v.yaml', value: 'a' } } } }];
    }),
    path: 'spec.rules[0].yamlsubst.source',
    message: 'spec.rules[0].yamlsubst.source',
  },
  {
    title: 'Publication target that is not an oci:// URL',
    object: patch(validPublication, 'https-target', (o) => (o.spec.target = { url: 'https://registry.example.com/mirror' })),
    path: 'spec.target.url',
    message: 'target.url must look like oci://host[:port]/repository',
  },
  {
    title: 'Publication of a Component',
    object: patch(validPublication, 'pub-component', (o) => (at(o.spec).source = { kind: 'Component', name: 'podinfo' })),
    path: 'spec.source.kind',
    message: 'Unsupported value: "Component"',
  },
  {
    title: 'Snapshot with a malformed digest',
    object: patch(validSnapshot, 'bad-digest', (o) => (o.spec.digest = 'sha256:xyz')),
    path: 'spec.digest',
    message: 'Invalid value: "sha256:xyz"',
  },
  {
    title: 'Snapshot with a negative blob size',
    object: patch(validSnapshot, 'neg-size', (o) => (at(o.spec.blob).size = -1)),
    path: 'spec.blob.size',
    message: 'Invalid value: -1',
  },
];

/** Valid for the CRD, denied by the webhook's semantic checks. */
export const WEBHOOK_DENIED: InvalidCase[] = [
  {
    title: 'semver constraint that does not parse',
    object: patch(validComponent, 'semver-garbage', (o) => (o.spec.semver = 'latest-and-greatest')),
    path: 'spec.semver',
    message: 'is not a valid semver constraint',
  },
  {
    title: 'semverFilter that is not a regular expression',
    object: patch(validComponent, 'filter-garbage', (o) => (o.spec.semverFilter = '^6\\.([0-9]+')),
    path: 'spec.semverFilter',
    message: 'not a valid regular expression',
  },
  {
    title: 'repositorySpec field the type does not know',
    object: patch(validRepository, 'unknown-field', (o) => (at(o.spec.repositorySpec).bucket = 'x')),
    path: 'spec.repositorySpec.bucket',
    message: 'unknown field for type OCIRegistry',
  },
  {
    title: 'baseUrl with credentials in it',
    object: patch(validRepository, 'creds-in-url', (o) => (at(o.spec.repositorySpec).baseUrl = 'https://user:pw@ghcr.io/acme')),
    path: 'spec.repositorySpec.baseUrl',
    message: 'must not contain a query, fragment or credentials',
  },
  {
    title: 'yamlsubst source with both a value and a resource',
    object: patch(validConfiguration, 'value-and-resource', (o) => {
      o.spec.rules = [{ yamlsubst: { source: { value: 'x', resource: { name: 'image' } }, target: { file: { path: 'v.yaml', value: 'a' } } } }];
    }),
    path: 'spec.rules[0].yamlsubst.source',
    message: 'a yamlsubst source needs exactly one of value or resource',
  },
  {
    title: 'identity key OCM does not allow',
    object: patch(validResource, 'bad-identity-key', (o) => (at(at(o.spec.resource).byReference).resource = { name: 'chart', 'Arch!': 'x' })),
    path: 'spec.resource.byReference.resource.Arch!',
    message: 'identity key "Arch!" is not valid',
  },
];

/** Accepted, with a warning, because a referenced object does not exist (yet). */
export const WEBHOOK_WARNED: Array<{ title: string; object: OurObject; message: string }> = [
  { title: 'Component whose OCMRepository is missing', object: patch(validComponent, 'lonely', () => undefined), message: 'OCMRepository "acme" does not exist' },
  {
    title: 'Resource whose Component is missing',
    object: patch(validResource, 'orphan', (o) => (o.spec.componentRef = { name: 'nowhere' })),
    message: 'Component "nowhere" does not exist',
  },
];

export function getPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), obj);
}
