import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MediaType, RegistryClient, type ImageManifest } from '../../../shared/oci/index.js';
import { RegistryStore } from '../../../shared/snapshot/index.js';
import { services } from '../../infra/services.js';
import { repoName, scratchDir } from './helpers.js';

describe('RemoteRepository', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await scratchDir('remote-repository');
  });

  it('referrers: feature-detected, falls back to the sha256-<hex> tag schema on 2.8', async () => {
    const client = new RegistryClient({ url: services().registry.fs.url });
    const store = new RegistryStore(client);
    try {
      const repo = repoName('referrers');
      const file = join(dir, 'subject.txt');
      await writeFile(file, 'subject');
      const subject = await store.pushArtifact(repo, { content: { path: file }, mediaType: 'text/plain', name: 's' }, { tag: 'v1' });
      const r = client.repository(repo);
      expect(await r.referrers(subject.manifest.digest)).toEqual([]);
      const referrer: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.ImageManifest,
        artifactType: 'application/vnd.example.sig',
        config: subject.config,
        layers: [subject.blob],
        subject: subject.manifest,
      };
      const refBytes = Buffer.from(JSON.stringify(referrer));
      const refDesc = await r.manifests.push(refBytes, MediaType.ImageManifest);
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ImageIndex,
          manifests: [{ ...refDesc, artifactType: 'application/vnd.example.sig' }],
        }),
      );
      await r.manifests.push(index, MediaType.ImageIndex, subject.manifest.digest.replace(':', '-'));
      expect((await r.referrers(subject.manifest.digest)).map((d) => d.digest)).toEqual([refDesc.digest]);
      expect(await r.referrers(subject.manifest.digest, 'application/other')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('referrers: the OCI 1.1 referrers API of zot lists a pushed referrer, filtered by artifactType', async () => {
    // zot with the shipped config: S3, TLS, htpasswd, access control
    const zot = services().registry.zot;
    const client = new RegistryClient({ url: zot.url, caFile: zot.caFile, credentials: zot.push });
    const store = new RegistryStore(client);
    try {
      const repo = repoName('referrers-zot');
      const file = join(dir, 'subject-zot.txt');
      await writeFile(file, 'subject on zot');
      const subject = await store.pushArtifact(repo, { content: { path: file }, mediaType: 'text/plain', name: 's' }, { tag: 'v1' });
      const r = client.repository(repo);
      expect(await r.referrers(subject.manifest.digest)).toEqual([]);
      const referrer: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaType.ImageManifest,
        artifactType: 'application/vnd.example.sig',
        config: subject.config,
        layers: [subject.blob],
        subject: subject.manifest,
      };
      // no fallback tag is pushed: zot indexes the subject itself
      const refDesc = await r.manifests.push(Buffer.from(JSON.stringify(referrer)), MediaType.ImageManifest);
      const listed = await r.referrers(subject.manifest.digest);
      expect(listed.map((d) => d.digest)).toEqual([refDesc.digest]);
      expect(listed[0]).toMatchObject({ artifactType: 'application/vnd.example.sig', mediaType: MediaType.ImageManifest });
      expect(await r.referrers(subject.manifest.digest, 'application/other')).toEqual([]);
      // the fallback tag schema was not used
      expect(await store.listTags(repo)).toEqual(['v1']);
    } finally {
      await store.close();
    }
  });
});
