/**
 * The media types (and annotation keys) the code names: the one list, so a type is spelled once. Grouped by who
 * defines them; our own single-layer artifacts are described in docs/design.md §6.
 */
export const MediaType = {
  // OCI image spec
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  ImageConfig: 'application/vnd.oci.image.config.v1+json',
  Empty: 'application/vnd.oci.empty.v1+json',
  Layer: 'application/vnd.oci.image.layer.v1.tar',
  LayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  /** a layer or blob whose type nobody named */
  OctetStream: 'application/octet-stream',
  // Docker image manifest v2 schema 2
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  // Helm charts in OCI registries
  HelmConfig: 'application/vnd.cncf.helm.config.v1+json',
  HelmChart: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  // cosign "simple signing" signatures (cosign.ts)
  CosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  // OCM component versions stored as OCI artifacts: config and descriptor layer (tar, JSON or YAML)
  ComponentConfig: 'application/vnd.ocm.software.component.config.v1+json',
  ComponentDescriptorTar: 'application/vnd.ocm.software.component-descriptor.v2+yaml+tar',
  ComponentDescriptorJson: 'application/vnd.ocm.software.component-descriptor.v2+json',
  ComponentDescriptorYaml: 'application/vnd.ocm.software.component-descriptor.v2+yaml',
  // the same, as the Gardener tooling before OCM wrote them (read, never written)
  LegacyComponentConfig: 'application/vnd.gardener.cloud.cnudie.component.config.v1+json',
  LegacyComponentDescriptorMetadataConfig: 'application/vnd.oci.gardener.cloud.cnudie.component-descriptor-metadata.config.v2+json',
  LegacyComponentDescriptorTar: 'application/vnd.gardener.cloud.cnudie.component-descriptor.v2+yaml+tar',
  LegacyComponentDescriptorJson: 'application/vnd.gardener.cloud.cnudie.component-descriptor.v2+json',
  LegacyComponentDescriptorYaml: 'application/vnd.gardener.cloud.cnudie.component-descriptor.v2+yaml',
  // OCM component-descriptor signatures (the `signatures[].signature.mediaType` of a descriptor)
  SignatureRsa: 'application/vnd.ocm.signature.rsa',
  SignatureRsaPss: 'application/vnd.ocm.signature.rsa.pss',
  SignatureSigstore: 'application/vnd.ocm.signature.sigstore',
  /** a signature value that is a PEM block followed by the signer's certificate chain */
  SignaturePem: 'application/x-pem-file',
  // ours (docs/design.md §6)
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

/** The suffixes OCM gives an artifact set's media type in place of the main manifest's `+json`. */
const ARTIFACT_SET_SUFFIXES = ['+tar', '+tar+gzip'] as const;

/**
 * The media types OCM gives an artifact-set blob: tar or tar+gzip of an OCI (or Docker) manifest or index, its
 * manifest type with `+json` replaced, e.g. `application/vnd.oci.image.manifest.v1+tar+gzip` (see
 * shared/ocm/artifact-set.ts for the format). Parameters (`; ...`) are ignored.
 */
export function isArtifactSetMediaType(mediaType: string | undefined): boolean {
  const base = (mediaType ?? '').split(';')[0]!.trim();
  return ManifestAcceptTypes.some((t) => ARTIFACT_SET_SUFFIXES.some((suffix) => base === t.replace(/\+json$/, suffix)));
}

/** Well-known annotation keys. */
export const Annotation = {
  RefName: 'org.opencontainers.image.ref.name',
  Title: 'org.opencontainers.image.title',
  Source: 'org.opencontainers.image.source',
  Revision: 'org.opencontainers.image.revision',
  /** the signature of a cosign simple-signing layer (cosign.ts) */
  CosignSignature: 'dev.cosignproject.cosign/signature',
  ComponentVersion: 'software.ocm.componentversion',
  /** on an OCM component-version manifest: the artifact kind (ctf-write.ts) */
  Artifact: 'software.ocm.artifact',
  /** on an OCM component-version manifest: the tool that wrote it (ctf-write.ts) */
  Creator: 'software.ocm.creator',
  Identity: 'software.ocm.identity',
  ResourceMediaType: 'software.ocm.resource.mediaType',
} as const;
