/**
 * Runs zot itself (when tests/infra could build it) with registry/config.json adapted to the test
 * S3 store: same storage/GC/retention/auth/metrics settings; only endpoints, ports, paths, the
 * certificate and `secure: false` (the test store speaks plain HTTP) differ. Used by zot-config.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { makeCert } from '../../infra/pki.js';
import { freePort, startProcess, waitReady, type RunningProcess } from '../../infra/process.js';
import type { Services } from '../../infra/services.js';
import { repoRoot } from './manifests.js';
import { addTenant } from '../../../functions/runner/tenant.js';
import type { ZotConfig } from './zot-schema.js';

const exec = promisify(execFile);

export const ZOT_USERS = { push: 'ocm-knative', metrics: 'metrics' } as const;
/** tenant namespaces given their own read identity (`ocm-knative tenant add`, functions/runner/tenant.ts) */
export const ZOT_TENANTS = ['ocm-tenant', 'tenant-b'] as const;

export interface RunningZot {
  url: string;
  host: string;
  caFile: string;
  password: string;
  configFile: string;
  proc: RunningProcess;
  agent: Agent;
}

export async function startZot(zot: string, svc: Services, bucket: string): Promise<RunningZot> {
  const dir = join(svc.workDir, `zot-${Date.now().toString(36)}`);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const cert = await makeCert(dir, 'zot', svc.ca);
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const htpasswd = join(dir, 'htpasswd');
  const lines = await Promise.all(
    Object.values(ZOT_USERS).map(async (u) => (await exec('htpasswd', ['-Bbn', u, password])).stdout.trim()),
  );
  await writeFile(htpasswd, `${lines.join('\n')}\n`);

  // the shipped config, plus each tenant added as an operator would (edits config and htpasswd in place)
  const configFile = join(dir, 'config.json');
  await writeFile(configFile, await readFile(join(repoRoot, 'registry/config.json'), 'utf8'));
  for (const namespace of ZOT_TENANTS) {
    await addTenant({ namespace, zotConfig: configFile, htpasswd, registryHost: `127.0.0.1:${port}`, password });
  }
  const cfg = JSON.parse(await readFile(configFile, 'utf8')) as ZotConfig & { storage: { storageDriver: Record<string, unknown> } };
  cfg.storage.rootDirectory = join(dir, 'root');
  Object.assign(cfg.storage.storageDriver, { regionendpoint: svc.s3.endpoint, region: svc.s3.region, bucket, secure: false });
  cfg.http.address = '127.0.0.1';
  cfg.http.port = String(port);
  cfg.http.tls = { cert: cert.certFile, key: cert.keyFile };
  cfg.http.auth = { ...cfg.http.auth, htpasswd: { path: htpasswd } };
  await writeFile(configFile, JSON.stringify(cfg, null, 2));

  const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: svc.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: svc.s3.secretAccessKey };
  delete env.AWS_CA_BUNDLE; // the distribution s3 driver panics on it
  const proc = startProcess({ name: 'zot', command: zot, args: ['serve', configFile], logFile: join(dir, 'zot.log'), env });
  const url = `https://127.0.0.1:${port}`;
  const agent = new Agent({ connect: { ca: await readFile(svc.ca.certFile) } });
  await waitReady(
    proc,
    async () => {
      const r = await request(`${url}/startupz`, { dispatcher: agent });
      await r.body.dump();
      return r.statusCode === 200;
    },
    60_000,
  );
  return { url, host: `127.0.0.1:${port}`, caFile: svc.ca.certFile, password, configFile, proc, agent };
}
