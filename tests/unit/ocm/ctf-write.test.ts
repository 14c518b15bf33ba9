import { cp, mkdtemp, readFile, readdir, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tarStream from 'tar-stream';
import {
  ArtifactFormatError,
  CtfRepository,
  DigestMismatchError,
  openRepository,
  openResourceAccess,
  VersionNotFoundError,
  writeCtfArchive,
  writeCtfDirectory,
} from '../../../shared/ocm/index.js';
import { readBounded } from '../../../shared/ocm/streams.js';
import { TESTDATA } from './testdata.js';
import { APP, BASE, sampleGraph } from '../../fixtures/ocm/sample.js';

async function readAll(s: Readable): Promise<Buffer> {
  return readBounded(s, 1 << 30, 'test');
}

describe('CTF writer', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocm-ctf-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is deterministic (directory and tgz) and reads back', async () => {
    const g = await sampleGraph();
    await writeCtfArchive(join(dir, 'a.tgz'), g.cvs);
    await writeCtfArchive(join(dir, 'b.tgz'), (await sampleGraph()).cvs);
    expect((await readFile(join(dir, 'a.tgz'))).equals(await readFile(join(dir, 'b.tgz')))).toBe(true);
    await writeCtfArchive(join(dir, 'a.tar'), g.cvs, 'tar');
    await writeCtfDirectory(join(dir, 'd1'), g.cvs);
    await writeCtfDirectory(join(dir, 'd2'), [...g.cvs].reverse());
    expect(await readFile(join(dir, 'd1/artifact-index.json'), 'utf8')).toBe(await readFile(join(dir, 'd2/artifact-index.json'), 'utf8'));
    expect((await readdir(join(dir, 'd1/blobs'))).sort()).toEqual((await readdir(join(dir, 'd2/blobs'))).sort());
    for (const f of ['a.tgz', 'a.tar', 'd1']) {
      const repo = await openRepository({ type: 'CommonTransportFormat', filePath: join(dir, f) });
      expect((await repo.listVersions(APP)).sort()).toEqual(['1.0.0', '1.1.0']);
      const cd = await repo.getDescriptor(APP, '1.1.0');
      expect(cd).toEqual(g.apps[1]!.descriptor);
      const data = cd.resources.find((r) => r.name === 'data')!;
      const access = await openResourceAccess(cd, data, { repository: repo });
      if (access.kind !== 'blob') throw new Error('expected blob');
      expect((await readAll(await access.open())).equals(g.contents.data)).toBe(true);
      expect((repo as CtfRepository).componentVersions().length).toBe(3);
      await repo.close();
    }
  });

  it('a tampered blob fails while streaming; a missing version is typed', async () => {
    const g = await sampleGraph();
    const d = join(dir, 'tamper');
    await writeCtfDirectory(d, g.cvs);
    const repo = await openRepository({ type: 'CommonTransportFormat', filePath: d });
    const cd = await repo.getDescriptor(BASE, '1.0.0');
    const ref = String(cd.resources[0]!.access!['localReference']);
    const file = join(d, 'blobs', ref.replace(':', '.'));
    await chmod(file, 0o644);
    await writeFile(file, 'base: EVIL\n');
    const access = await openResourceAccess(cd, cd.resources[0]!, { repository: repo });
    if (access.kind !== 'blob') throw new Error('expected blob');
    await expect(readAll(await access.open())).rejects.toBeInstanceOf(DigestMismatchError);
    // skipping the resource digest leaves the file's own digest checked
    const unverified = await openResourceAccess(cd, cd.resources[0]!, { repository: repo, skipDigestVerification: true });
    if (unverified.kind !== 'blob') throw new Error('expected blob');
    await expect(readAll(await unverified.open())).rejects.toBeInstanceOf(DigestMismatchError);
    // only a consumer that hashes every blob of a set itself gets the file's bytes unhashed
    const bySet = await openResourceAccess(cd, cd.resources[0]!, { repository: repo, skipDigestVerification: true, consumerHashesSetBlobs: true });
    if (bySet.kind !== 'blob') throw new Error('expected blob');
    expect((await readAll(await bySet.open())).toString()).toBe('base: EVIL\n');
    await expect(repo.getDescriptor(BASE, '9.9.9')).rejects.toBeInstanceOf(VersionNotFoundError);
    await repo.close();
  });

  it('refuses archives with path traversal, links or foreign files', async () => {
    const mk = async (name: string, entries: { name: string; type?: 'file' | 'symlink'; linkname?: string; body?: string }[]) => {
      const pack = tarStream.pack();
      for (const e of entries) {
        if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname! });
        else pack.entry({ name: e.name }, e.body ?? '');
      }
      pack.finalize();
      await writeFile(join(dir, name), await readAll(Readable.from(pack)));
      return join(dir, name);
    };
    const index = '{"schemaVersion":1,"artifacts":[]}';
    for (const bad of [
      await mk('trav.tar', [{ name: 'artifact-index.json', body: index }, { name: '../evil', body: 'x' }]),
      await mk('link.tar', [{ name: 'artifact-index.json', body: index }, { name: `blobs/sha256.${'a'.repeat(64)}`, type: 'symlink', linkname: '/etc/passwd' }]),
      await mk('foreign.tar', [{ name: 'artifact-index.json', body: index }, { name: 'blobs/notadigest', body: 'x' }]),
      await mk('noindex.tar', [{ name: `blobs/sha256.${'a'.repeat(64)}`, body: 'x' }]),
      await mk('badindex.tar', [{ name: 'artifact-index.json', body: '{"schemaVersion":7}' }]),
    ]) {
      await expect(openRepository({ type: 'CommonTransportFormat', filePath: bad })).rejects.toBeInstanceOf(ArtifactFormatError);
    }
  });

  it('copying a golden CTF directory and writing more versions into it keeps both', async () => {
    const d = join(dir, 'merge');
    await cp(join(TESTDATA, 'ctf/ocmlib-helloworld-utf8/transport-archive'), d, { recursive: true });
    await chmod(d, 0o755);
    await chmod(join(d, 'blobs'), 0o755);
    await chmod(join(d, 'artifact-index.json'), 0o644);
    const g = await sampleGraph();
    await writeCtfDirectory(d, g.cvs);
    const repo = await openRepository({ type: 'CommonTransportFormat', filePath: d });
    expect(await repo.listVersions('github.com/acme.org/helloworld')).toEqual(['1.0.0']);
    expect((await repo.listVersions(APP)).sort()).toEqual(['1.0.0', '1.1.0']);
    await repo.close();
  });
});
