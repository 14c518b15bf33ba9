import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { MediaType } from '../../../shared/oci/index.js';
import {
  AccessError,
  artifactSetMainDigest,
  DigestMismatchError,
  digestResourceAccess,
  hashStream,
  UnsupportedDigestError,
  type Resource,
  type ResourceAccess,
} from '../../../shared/ocm/index.js';
import { VerifyArtifactSetStream } from '../../../shared/ocm/digests.js';
import { artifactSet, image } from './artifact-sets.js';
import { component } from './component.js';

const resource: Resource = { name: 'r', version: '1', type: 'blob', relation: 'local', access: { type: 'localBlob', localReference: 'x' } };
const cd = component('acme.org/x', { resources: [resource] });
const blobAccess = (bytes: Buffer): ResourceAccess => ({ kind: 'blob', resource, component: cd, mediaType: MediaType.OctetStream, open: async () => Readable.from([bytes]) });
const artifactAccess = (digest?: string): ResourceAccess => ({
  kind: 'ociArtifact',
  resource,
  component: cd,
  reference: { registry: 'reg.example', repository: 'a/b', tag: 'v1' },
  ...(digest ? { manifestDigest: digest } : {}),
});

/** A small artifact set (one image) and its main manifest digest. */
async function sampleSet(): Promise<{ set: Buffer; main: string }> {
  const img = image(Buffer.from('{}'), [{ bytes: Buffer.from('layer'), mediaType: MediaType.LayerGzip }]);
  return { set: await artifactSet({ main: img.manifest, blobs: [img.manifest.bytes, ...img.blobs], gzip: true }), main: img.manifest.desc.digest };
}

describe('resource digests', () => {
  it('hashStream hashes and counts with the OCM algorithm names', async () => {
    const data = Buffer.from('hello');
    expect(await hashStream(Readable.from([data]))).toEqual({ hex: createHash('sha256').update(data).digest('hex'), size: 5 });
    expect((await hashStream(Readable.from([data]), 'SHA-512')).hex).toBe(createHash('sha512').update(data).digest('hex'));
  });

  it('a blob gets genericBlobDigest/v1 of its bytes; an artifact set asked for ociArtifactDigest/v1 gets its main manifest', async () => {
    const data = Buffer.from('some bytes');
    expect(await digestResourceAccess(blobAccess(data))).toEqual({
      hashAlgorithm: 'SHA-256',
      normalisationAlgorithm: 'genericBlobDigest/v1',
      value: createHash('sha256').update(data).digest('hex'),
    });
    const { set, main } = await sampleSet();
    expect(await artifactSetMainDigest(Readable.from([set]))).toBe(main);
    expect(await digestResourceAccess(blobAccess(set), 'ociArtifactDigest/v1')).toEqual({
      hashAlgorithm: 'SHA-256',
      normalisationAlgorithm: 'ociArtifactDigest/v1',
      value: main.slice('sha256:'.length),
    });
  });

  it('an OCI artifact gets the manifest digest the registry reported; what cannot be computed is said in words', async () => {
    const d = `sha256:${'cd'.repeat(32)}`;
    expect(await digestResourceAccess(artifactAccess(d))).toEqual({ hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'ociArtifactDigest/v1', value: 'cd'.repeat(32) });
    await expect(digestResourceAccess(artifactAccess(d), 'genericBlobDigest/v1')).rejects.toThrow(UnsupportedDigestError);
    await expect(digestResourceAccess(artifactAccess())).rejects.toThrow(AccessError);
    await expect(digestResourceAccess(artifactAccess())).rejects.toThrow('cannot digest reg.example/a/b:v1: no registry access to resolve its manifest');
    await expect(digestResourceAccess(blobAccess(Buffer.from('x')), 'sha256-magic/v9')).rejects.toThrow('unsupported resource digest algorithm sha256-magic/v9');
  });

  it('VerifyArtifactSetStream passes the set through and fails at its end when the main manifest is another', async () => {
    const { set, main } = await sampleSet();
    const out: Buffer[] = [];
    await pipeline(Readable.from([set]), new VerifyArtifactSetStream('resource r', main.slice('sha256:'.length)), async (src) => {
      for await (const c of src) out.push(c as Buffer);
    });
    expect(Buffer.concat(out).equals(set)).toBe(true);
    await expect(
      pipeline(Readable.from([set]), new VerifyArtifactSetStream('resource r', 'ab'.repeat(32)), async (src) => {
        for await (const c of src) void c;
      }),
    ).rejects.toBeInstanceOf(DigestMismatchError);
  });
});
