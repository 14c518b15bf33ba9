import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MediaType, type Descriptor } from '../../../shared/oci/index.js';
import {
  ArtifactFormatError,
  buildComponentArtifact,
  parseManifest,
  readDescriptorFromArtifact,
  serializeComponentDescriptor,
} from '../../../shared/ocm/index.js';
import { normaliseLocalReference } from '../../../shared/ocm/cv-artifact.js';
import { packed } from '../../support/tar.js';
import { component } from './component.js';

const cd = component('acme.org/app');

const digest = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const desc = (mediaType: string, b: Buffer): Descriptor => ({ mediaType, digest: digest(b), size: b.length });

/** Reads blobs out of a map by digest, as a registry or CTF would hand them out. */
function blobsOf(...blobs: Buffer[]): (d: Descriptor) => Promise<Readable> {
  const byDigest = new Map(blobs.map((b) => [digest(b), b]));
  return async (d) => {
    const b = byDigest.get(d.digest);
    if (!b) throw new Error(`no blob ${d.digest}`);
    return Readable.from([b]);
  };
}

const manifestOf = (config: Descriptor, layers: Descriptor[]): Buffer =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config, layers }));

describe('component-version artifacts', () => {
  it('reads back what the writer built: the config names the descriptor layer, a tar with component-descriptor.yaml', async () => {
    const built = await buildComponentArtifact({ descriptor: cd });
    const { manifest, descriptor } = await readDescriptorFromArtifact(built.manifest, blobsOf(built.config, built.descriptorLayer), 'cv');
    expect(descriptor).toEqual(cd);
    expect(manifest.config.mediaType).toBe(MediaType.ComponentConfig);
    expect(manifest.layers[0]?.mediaType).toBe(MediaType.ComponentDescriptorTar);
  });

  it('a legacy (Gardener) config without componentDescriptorLayer: the first layer of a descriptor media type, here plain YAML', async () => {
    const config = Buffer.from('{}');
    const other = Buffer.from('not the descriptor');
    const yaml = Buffer.from(serializeComponentDescriptor(cd, 'yaml'));
    const bytes = manifestOf(desc(MediaType.LegacyComponentConfig, config), [
      desc(MediaType.OctetStream, other),
      desc(MediaType.LegacyComponentDescriptorYaml, yaml),
    ]);
    const { descriptor } = await readDescriptorFromArtifact(bytes, blobsOf(config, other, yaml), 'cv');
    expect(descriptor).toEqual(cd);
  });

  it('refuses what is not a component version, naming the artifact', async () => {
    expect(() => parseManifest(Buffer.from('{'), 'cv a')).toThrow('cv a: manifest is not JSON');
    expect(() => parseManifest(Buffer.from(JSON.stringify({ manifests: [] })), 'cv a')).toThrow('cv a: is an image index, not a component version manifest');
    expect(() => parseManifest(Buffer.from(JSON.stringify({ config: { digest: 'x' }, layers: [] })), 'cv a')).toThrow(
      'cv a: config is not an OCI descriptor (needs mediaType, digest, size)',
    );
    expect(() => parseManifest(Buffer.alloc(4 * 1024 * 1024 + 1, 32), 'cv a')).toThrow(ArtifactFormatError);

    const config = Buffer.from('{}');
    const helm = manifestOf(desc(MediaType.HelmConfig, config), []);
    await expect(readDescriptorFromArtifact(helm, blobsOf(config), 'cv b')).rejects.toThrow(
      `cv b: config media type ${MediaType.HelmConfig} is not an OCM component config`,
    );
    const stray = Buffer.from(JSON.stringify({ componentDescriptorLayer: desc(MediaType.ComponentDescriptorTar, Buffer.from('elsewhere')) }));
    await expect(readDescriptorFromArtifact(manifestOf(desc(MediaType.ComponentConfig, stray), []), blobsOf(stray), 'cv c')).rejects.toThrow(
      /cv c: componentDescriptorLayer sha256:[0-9a-f]{64} is not a layer of the manifest/,
    );
    const tar = await packed({ 'README.md': 'no descriptor here' }, { gzip: false });
    const tarConfig = Buffer.from(JSON.stringify({ componentDescriptorLayer: desc(MediaType.ComponentDescriptorTar, tar) }));
    const noFile = manifestOf(desc(MediaType.ComponentConfig, tarConfig), [desc(MediaType.ComponentDescriptorTar, tar)]);
    await expect(readDescriptorFromArtifact(noFile, blobsOf(tarConfig, tar), 'cv d')).rejects.toThrow(
      'cv d: descriptor layer tar has no component-descriptor.yaml',
    );
  });

  it('turns component-archive blob names into digests, leaving anything else alone', () => {
    expect(normaliseLocalReference(`sha256.${'ab'.repeat(32)}`)).toBe(`sha256:${'ab'.repeat(32)}`);
    expect(normaliseLocalReference(`sha256:${'ab'.repeat(32)}`)).toBe(`sha256:${'ab'.repeat(32)}`);
    expect(normaliseLocalReference('blob.tar')).toBe('blob.tar');
  });
});
