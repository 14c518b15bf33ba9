import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import { gzipSync } from 'node:zlib';

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

/** A tar archive in memory (small test fixtures only). */
export async function tarOf(entries: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(entries)) pack.entry({ name, mtime: new Date(1_700_000_000_000) }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function helmChartTgz(name = 'mychart', version = '0.3.1'): Promise<Buffer> {
  return gzipSync(
    await tarOf({
      [`${name}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: test chart\n`,
      [`${name}/values.yaml`]: 'replicas: 1\n',
      [`${name}/templates/cm.yaml`]: 'kind: ConfigMap\n',
    }),
  );
}
