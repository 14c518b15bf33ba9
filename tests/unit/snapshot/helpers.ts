import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tarOf } from '../../support/tar.js';

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

export async function helmChartTgz(name = 'mychart', version = '0.3.1'): Promise<Buffer> {
  return tarOf(
    {
      [`${name}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: test chart\n`,
      [`${name}/values.yaml`]: 'replicas: 1\n',
      [`${name}/templates/cm.yaml`]: 'kind: ConfigMap\n',
    },
    { gzip: true },
  );
}
