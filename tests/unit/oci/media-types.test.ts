import { describe, expect, it } from 'vitest';
import { Annotation, isArtifactSetMediaType, isIndexMediaType, isManifestMediaType, ManifestAcceptTypes, MediaType } from '../../../shared/oci/index.js';

// RFC 6838 section 4.2: type "/" subtype, restricted-name characters, optional +suffix parts
const RFC6838 = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

describe('media types', () => {
  it('names each media type once, each a well-formed type/subtype', () => {
    const values = Object.values(MediaType);
    expect(new Set(values).size).toBe(values.length);
    for (const v of values) expect(v).toMatch(RFC6838);
  });

  it('spells the types the distribution and image specs define as they do', () => {
    expect(MediaType.ImageManifest).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(MediaType.ImageIndex).toBe('application/vnd.oci.image.index.v1+json');
    expect(MediaType.DockerManifest).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(MediaType.DockerManifestList).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(MediaType.HelmChart).toBe('application/vnd.cncf.helm.chart.content.v1.tar+gzip');
  });

  it('accepts the four manifest kinds on GET/HEAD and tells indexes from manifests', () => {
    expect(ManifestAcceptTypes).toHaveLength(4);
    for (const t of ManifestAcceptTypes) expect(isManifestMediaType(t)).toBe(true);
    expect(ManifestAcceptTypes.filter(isIndexMediaType)).toEqual([MediaType.ImageIndex, MediaType.DockerManifestList]);
    expect(isManifestMediaType(MediaType.ImageConfig)).toBe(false);
    expect(isManifestMediaType(`${MediaType.ImageManifest}; charset=utf-8`)).toBe(false);
    expect(isIndexMediaType(MediaType.ImageManifest)).toBe(false);
  });

  it('knows an OCM artifact set by its manifest type with +tar or +tar+gzip in place of +json', () => {
    for (const t of [
      'application/vnd.oci.image.manifest.v1+tar',
      'application/vnd.oci.image.manifest.v1+tar+gzip',
      'application/vnd.oci.image.index.v1+tar+gzip',
      'application/vnd.docker.distribution.manifest.v2+tar',
      'application/vnd.docker.distribution.manifest.list.v2+tar+gzip; charset=binary',
    ]) {
      expect(isArtifactSetMediaType(t)).toBe(true);
    }
    for (const t of [undefined, '', MediaType.ImageManifest, MediaType.HelmChart, MediaType.LayerGzip, 'application/vnd.oci.image.config.v1+tar', 'application/vnd.oci.image.manifest.v1+tar+zstd']) {
      expect(isArtifactSetMediaType(t)).toBe(false);
    }
  });

  it('names each annotation key once', () => {
    const keys = Object.values(Annotation);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
