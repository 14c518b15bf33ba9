import { anyObject, bool, enumOf, int, obj, openObj, str, type Infer } from '../builder.js';
import { checkedStatus, conditions, interval, localRef, observedGeneration } from '../common.js';
import { defineKind } from '../kind.js';

export const OCI_REGISTRY_TYPES = ['OCIRegistry', 'OCIRegistry/v1'] as const;
export const CTF_TYPES = ['CommonTransportFormat', 'CommonTransportFormat/v1'] as const;

/**
 * An OCM repository spec. Undeclared fields are kept (upstream treats the spec as free JSON), and the
 * semantic checks reject the ones the type does not know, naming them.
 */
export const repositorySpec = openObj(
  {
    type: enumOf([...OCI_REGISTRY_TYPES, ...CTF_TYPES] as const, { description: 'OCM repository type' }),
    baseUrl: str({ description: 'OCIRegistry: registry host and optional path, e.g. ghcr.io/acme', minLength: 1, maxLength: 2048 }),
    subPath: str({ description: 'OCIRegistry: path below baseUrl', maxLength: 1024 }),
    componentNameMapping: enumOf(['urlPath', 'sha256-digest'] as const, { description: 'OCIRegistry: how component names map to repositories' }),
    filePath: str({ description: 'CommonTransportFormat: path of the archive or directory', minLength: 1, maxLength: 4096 }),
    fileFormat: enumOf(['directory', 'tar', 'tgz'] as const, { description: 'CommonTransportFormat: archive format' }),
    accessMode: int({ description: 'CommonTransportFormat: access mode bits', minimum: 0, maximum: 255 }),
  },
  {
    description: 'where the components live: {type: OCIRegistry, baseUrl, subPath?} or {type: CommonTransportFormat, filePath}',
    required: ['type'],
    rules: [
      {
        rule: "!self.type.startsWith('OCIRegistry') || has(self.baseUrl)",
        message: 'an OCIRegistry repositorySpec needs baseUrl (e.g. ghcr.io/acme)',
        reason: 'FieldValueRequired',
      },
      {
        rule: "!self.type.startsWith('OCIRegistry') || (!has(self.filePath) && !has(self.fileFormat) && !has(self.accessMode))",
        message: 'filePath, fileFormat and accessMode belong to CommonTransportFormat, not OCIRegistry',
        reason: 'FieldValueForbidden',
      },
      {
        rule: "!self.type.startsWith('CommonTransportFormat') || has(self.filePath)",
        message: 'a CommonTransportFormat repositorySpec needs filePath',
        reason: 'FieldValueRequired',
      },
      {
        rule: "!self.type.startsWith('CommonTransportFormat') || (!has(self.baseUrl) && !has(self.subPath) && !has(self.componentNameMapping))",
        message: 'baseUrl, subPath and componentNameMapping belong to OCIRegistry, not CommonTransportFormat',
        reason: 'FieldValueForbidden',
      },
    ],
  },
);
export type RepositorySpec = Infer<typeof repositorySpec>;

export const ocmRepositorySpec = obj(
  {
    repositorySpec,
    secretRef: localRef('Secret of type kubernetes.io/dockerconfigjson with credentials for the repository'),
    interval: interval('the repository is checked'),
    suspend: bool({ description: 'stop processing this object', default: false }),
  },
  { required: ['repositorySpec'] },
);

export const ocmRepositoryStatus = obj({
  conditions,
  observedGeneration,
  /** the spec in effect (defaults applied), for consumers that only read status */
  repositorySpec: anyObject({ description: 'the repository spec in effect' }),
  ...checkedStatus('the repository was last checked'),
});

export const OCMRepositoryKind = defineKind({
  kind: 'OCMRepository',
  plural: 'ocmrepositories',
  singular: 'ocmrepository',
  shortNames: ['ocmrepo'],
  description: 'An OCM repository (OCI registry or CTF archive) that components are read from.',
  spec: ocmRepositorySpec,
  status: ocmRepositoryStatus,
  columns: [{ name: 'Type', type: 'string', jsonPath: '.spec.repositorySpec.type' }, { name: 'URL', type: 'string', jsonPath: '.spec.repositorySpec.baseUrl', priority: 1 }],
});
