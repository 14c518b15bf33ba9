/** Media types used by the OCI distribution/image specs and by our single-layer artifacts (docs/design.md §6). */
export const MediaType = {
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  ImageConfig: 'application/vnd.oci.image.config.v1+json',
  Empty: 'application/vnd.oci.empty.v1+json',
  Layer: 'application/vnd.oci.image.layer.v1.tar',
  LayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  HelmConfig: 'application/vnd.cncf.helm.config.v1+json',
  HelmChart: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  ComponentDescriptors: 'application/vnd.ocm.software.component-descriptors.v1+yaml',
  SnapshotArtifact: 'application/vnd.ocm.software.snapshot.v1',
} as const;

/** Manifest types we accept on GET/HEAD. 2.8 answers 404 to OCI manifests unless they are listed (docs/design.md §7). */
export const ManifestAcceptTypes: readonly string[] = [
  MediaType.ImageManifest,
  MediaType.ImageIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
];

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ImageIndex || mediaType === MediaType.DockerManifestList;
}

export function isManifestMediaType(mediaType: string): boolean {
  return ManifestAcceptTypes.includes(mediaType);
}

/** Well-known annotation keys. */
export const Annotation = {
  RefName: 'org.opencontainers.image.ref.name',
  Title: 'org.opencontainers.image.title',
  Source: 'org.opencontainers.image.source',
  Revision: 'org.opencontainers.image.revision',
  ComponentVersion: 'software.ocm.componentversion',
  Identity: 'software.ocm.identity',
  ResourceMediaType: 'software.ocm.resource.mediaType',
} as const;
