import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MediaType, RegistryClient, type Descriptor, type ImageManifest } from '../../../shared/oci/index.js';
import { RegistryStore } from '../../../shared/snapshot/index.js';
import { services } from '../../infra/services.js';
import { repoName, scratchDir } from './helpers.js';

describe('RemoteRepository', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await scratchDir('remote-repository');
  });

  /**
   * Pushes a subject artifact tagged v1 (checking it has no referrers yet) and a signature-like manifest naming it
   * as its subject; returns both descriptors.
   */
  async function pushSubjectAndReferrer(client: RegistryClient, store: RegistryStore, repo: string, content: string): Promise<{ subject: Descriptor; referrer: Descriptor }> {
    const file = join(dir, `${repo.replaceAll('/', '_')}.txt`);
    await writeFile(file, content);
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
    const refDesc = await r.manifests.push(Buffer.from(JSON.stringify(referrer)), MediaType.ImageManifest);
    return { subject: subject.manifest, referrer: refDesc };
  }

  it('referrers: feature-detected, falls back to the sha256-<hex> tag schema on 2.8', async () => {
    const client = new RegistryClient({ url: services().registry.fs.url });
    const store = new RegistryStore(client);
    try {
      const repo = repoName('referrers');
      const { subject, referrer } = await pushSubjectAndReferrer(client, store, repo, 'subject');
      const r = client.repository(repo);
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ImageIndex,
          manifests: [{ ...referrer, artifactType: 'application/vnd.example.sig' }],
        }),
      );
      await r.manifests.push(index, MediaType.ImageIndex, subject.digest.replace(':', '-'));
      expect((await r.referrers(subject.digest)).map((d) => d.digest)).toEqual([referrer.digest]);
      expect(await r.referrers(subject.digest, 'application/other')).toEqual([]);
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
      // no fallback tag is pushed: zot indexes the subject itself
      const { subject, referrer } = await pushSubjectAndReferrer(client, store, repo, 'subject on zot');
      const r = client.repository(repo);
      const listed = await r.referrers(subject.digest);
      expect(listed.map((d) => d.digest)).toEqual([referrer.digest]);
      expect(listed[0]).toMatchObject({ artifactType: 'application/vnd.example.sig', mediaType: MediaType.ImageManifest });
      expect(await r.referrers(subject.digest, 'application/other')).toEqual([]);
      // the fallback tag schema was not used
      expect(await store.listTags(repo)).toEqual(['v1']);
    } finally {
      await store.close();
    }
  });
});
