/**
 * Snapshot artifacts: the OciStore interface with a registry adapter and an on-disk OCI layout adapter,
 * the single-layer artifact builder (docs/design.md §6) and whole-artifact copy.
 *
 *   const store: OciStore = new RegistryStore({ url, caFile, credentials }); // or new LayoutStore(dir)
 *   const pushed = await store.pushArtifact('ns/resource/name',
 *     { content: { path }, mediaType: 'application/x-tar', name: 'config', provenance: { component, version } },
 *     { tag: versionToTag(version) });                    // -> { manifest, config, blob } descriptors (versionToTag: shared/ocm)
 *   const art = await store.fetchArtifact(repo, pushed.manifest.digest);
 *   const layer = await store.openBlob(repo, art.blob);  // digest-verified stream
 *   await copyArtifact(src.repository(a), ref, dst.repository(b), { tag });
 */
export type { ArtifactContent, ArtifactInput, ArtifactKind, BuiltArtifact, Provenance } from './artifact.js';
export { buildArtifact, buildManifest, provenanceAnnotations } from './artifact.js';
export type { OciStore, FetchedArtifact, PushedManifest } from './oci-store.js';
export { BaseOciStore } from './oci-store.js';
export type { CopyOptions } from './copy.js';
export { copyArtifact } from './copy.js';
export type { BlobFormat, WrittenFile } from './deterministic-tar.js';
export { deterministicGzip, FIXED_ENTRY, gzipFile, sniffFormat, wrapFileInTarGzip } from './deterministic-tar.js';
export { LayoutStore } from './layout-store.js';
export { RegistryStore } from './registry-store.js';
export { pushFileArtifact, type FileArtifactOptions } from './file-artifact.js';
