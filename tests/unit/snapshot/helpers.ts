import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A temporary directory removed after the test file. */
export async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ocmk-unit-snapshot-'));
  dirs.push(dir);
  return dir;
}
