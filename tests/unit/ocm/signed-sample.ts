/** The sample graph (fixtures/ocm/sample.ts), its app versions signed with `privateKey`, in a CTF for the test file. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openRepository, writeCtfDirectory, type ComponentRepository } from '../../../shared/ocm/index.js';
import { sampleGraph } from '../../fixtures/ocm/sample.js';

/** Opens the CTF before the file's tests and removes it after; `dir` is a scratch folder the tests may write in. */
export function signedSampleCtf(privateKey: string): { readonly dir: string; readonly repo: ComponentRepository } {
  let dir: string | undefined;
  let repo: ComponentRepository | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ocm-signed-sample-'));
    const g = await sampleGraph({ privateKey });
    await writeCtfDirectory(join(dir, 'ctf'), g.cvs);
    repo = await openRepository({ type: 'CommonTransportFormat', filePath: join(dir, 'ctf') });
  });
  afterAll(async () => {
    await repo?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      if (!dir) throw new Error('the signed sample CTF is read in tests, after beforeAll');
      return dir;
    },
    get repo() {
      if (!repo) throw new Error('the signed sample CTF is read in tests, after beforeAll');
      return repo;
    },
  };
}
