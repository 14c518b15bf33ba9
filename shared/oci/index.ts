/**
 * OCI distribution client (undici 7) and content primitives.
 *
 *   const client = new RegistryClient({ url: 'https://reg:5000', caFile, credentials: credentialsFromDockerConfig(json) });
 *   const repo = client.repository('ns/resource/name');          // a Target: repo.blobs, repo.manifests
 *   await repo.blobs.push({ digest, size }, fileSource(path));    // HEAD first, then POST + streaming PUT
 *   const stream = await repo.blobs.fetch({ digest, size });      // digest-verified while streaming
 *   const desc = await repo.manifests.push(bytes, MediaType.ImageManifest, 'v1');
 */
export type { Challenge, Credential, CredentialProvider } from './auth.js';
export {
  credentialsFromDockerConfig,
  normaliseRegistryHost,
  parseWwwAuthenticate,
  repositoryScope,
  TokenCache,
} from './auth.js';
export type { RegistryClientOptions, SocketTransferEvent } from './registry-client.js';
export { RegistryClient } from './registry-client.js';
export { RemoteBlobStore } from './remote-blob-store.js';
export { RemoteManifestStore } from './remote-manifest-store.js';
export { RemoteRepository } from './remote-repository.js';
export {
  algorithmOf,
  assertDigest,
  digestFile,
  DigestingStream,
  digestOf,
  isDigest,
  verifyBytes,
  VerifyingStream,
} from './digest.js';
export type { RegistryErrorDetail } from './errors.js';
export {
  AuthError,
  DigestMismatchError,
  errorForResponse,
  ImageReferenceError,
  InvalidArgumentError,
  NotFoundError,
  OciError,
  parseRegistryErrors,
  SizeMismatchError,
  RegistryUnavailableError,
} from './errors.js';
export { nextLink } from './link-header.js';
export { describeConnectionError, type ConnectionProblem } from './connection-errors.js';
export { Annotation, isArtifactSetMediaType, isIndexMediaType, isManifestMediaType, ManifestAcceptTypes, MediaType } from './media-types.js';
export type { ImageReference, ImageReferenceOptions } from './reference.js';
export {
  assertReference,
  assertRepositoryName,
  DOCKER_HUB,
  formatImageReference,
  isRepositoryName,
  isTag,
  parseImageReference,
  registryHost,
} from './reference.js';
export type { RetryPolicy } from './retry.js';
export { backoffDelay, defaultRetryPolicy, isNetworkError, isRetryableStatus, parseRetryAfter, withRetry } from './retry.js';
export { bufferSource, fileSource, IO_CHUNK_BYTES } from './sources.js';
export { BlobFileWriter } from './blob-file-writer.js';
export {
  CosignSigner,
  deleteCosignSignature,
  hasCosignSignature,
  pushCosignSignature,
  signatureTag,
  SigningKeyError,
  simpleSigningPayload,
} from './cosign.js';
export { guardedConnector, type ConnectGuard } from './guarded-connect.js';
export { contentLength, parseResponseHead, ResponseHeadError, ResponseHeadReader, type ResponseHead } from './http-head.js';
export { keepWasmInBaselineTier } from './wasm-tiering.js';
export { collectYoungGarbage, noteStreamed, youngCollections } from './young-garbage.js';
export type {
  BlobSource,
  BlobStore,
  Descriptor,
  FetchedManifest,
  ImageIndex,
  ImageManifest,
  ManifestStore,
  Target,
} from './types.js';
