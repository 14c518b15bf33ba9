/** shared/kube: our kinds (schemas, types, CRDs), their validation, and the Kubernetes port + adapter. */
export * from './types.js';
export { KINDS, OUR_KINDS, PLURALS, isOurKind, type OurKind } from './schema/kinds/index.js';
export { GROUP, VERSION } from './schema/common.js';
export { crdFor } from './schema/crd.js';
export { admitObject, validateObject, type Admission, type ValidateOptions } from './validate/index.js';
export { semanticIssues, semverRange, referencesOf, referenceWarnings, type ExistsFn, type Reference } from './validate/index.js';
export { formatIssue, errors as errorIssues, ObjectInvalidError, type ValidationIssue } from './validate/index.js';
export * from './errors.js';
export * from './conditions.js';
export * from './names.js';
export * from './api.js';
export { KubeClient, loadKubeConfig, gvrOf, FLUX_SOURCE_GROUP, type KubeClientOptions, type LoadOptions } from './client.js';
export { mergePatch } from './merge-patch.js';
export { WatchCache, revision, type CacheState, type WatchCacheOptions } from './watch-cache.js';
