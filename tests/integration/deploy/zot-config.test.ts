/**
 * registry/config.json against zot's documented configuration schema (zot-schema.ts) and our
 * deployment policy (DESIGN §7), plus negative controls that show the checks catch mistakes.
 * When zot itself was built (tests/infra), zot-run.test.ts starts it with this config on S3.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapBucket } from '../../../registry/bootstrap/bootstrap.js';
import { makeS3Client } from '../../../registry/bootstrap/client.js';
import { loadConfig } from '../../../registry/bootstrap/config.js';
import { findGoTool } from '../../infra/binaries.js';
import { services } from '../../infra/services.js';
import { repoRoot, run } from './manifests.js';
import { startZot, ZOT_TENANTS, ZOT_USERS, type RunningZot } from './zot-run.js';
import { withTenant } from '../../../functions/runner/tenant.js';
import { policyProblems, zotConfigSchema, type ZotConfig } from './zot-schema.js';

const shipped = JSON.parse(readFileSync(join(repoRoot, 'registry/config.json'), 'utf8')) as ZotConfig;
const validate = new Ajv({ allErrors: true, strict: true }).compile(zotConfigSchema);

function errorsOf(cfg: unknown): string[] {
  return validate(cfg) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

function mutated(change: (c: ZotConfig & Record<string, unknown>) => void): ZotConfig {
  const c = structuredClone(shipped) as ZotConfig & Record<string, unknown>;
  change(c);
  return c;
}

describe('zot configuration (registry/config.json)', () => {
  it('matches the documented zot schema', () => {
    expect(errorsOf(shipped)).toEqual([]);
  });

  it('meets the deployment policy: S3 without dedupe, GC with retention, TLS, htpasswd, metrics', () => {
    expect(policyProblems(shipped)).toEqual([]);
    expect(shipped.storage.storageDriver?.name).toBe('s3');
    expect(shipped.storage.dedupe).toBe(false);
    expect(shipped.storage.gc).toBe(true);
  });

  it('gives the functions push rights and nobody else any right on every repository (tenants read their own only)', () => {
    const all = shipped.http.accessControl?.repositories?.['**'];
    const byUser = Object.fromEntries((all?.policies ?? []).flatMap((p) => (p.users ?? []).map((u) => [u, [...(p.actions ?? [])].sort()])));
    expect(byUser).toEqual({ 'ocm-knative': ['create', 'delete', 'read', 'update'] });
    expect(all?.anonymousPolicy ?? []).toEqual([]);
    const tenant = withTenant(shipped, 'team-a').http?.accessControl?.repositories?.['team-a/**'];
    expect(tenant?.policies).toEqual([...(all?.policies ?? []), { users: ['tenant-team-a'], actions: ['read'] }]);
    expect(errorsOf(withTenant(shipped, 'team-a') as ZotConfig)).toEqual([]);
  });

  // Negative controls: each mistake must be caught, by the schema or by the policy.
  const mistakes: [string, (c: ZotConfig & Record<string, unknown>) => void, 'schema' | 'policy'][] = [
    ['misspelt storage key (dedup)', (c) => { (c.storage as Record<string, unknown>).dedup = false; }, 'schema'],
    ['port as a number', (c) => { (c.http as Record<string, unknown>).port = 5000; }, 'schema'],
    ['unknown top-level section', (c) => { c.storrage = {}; }, 'schema'],
    ['chunksize below the 5 MiB S3 part minimum', (c) => { (c.storage.storageDriver as Record<string, unknown>).chunksize = 1024; }, 'schema'],
    ['bad gcDelay duration', (c) => { (c.storage as Record<string, unknown>).gcDelay = 'one hour'; }, 'schema'],
    ['unknown access action', (c) => { c.http.accessControl!.repositories!['**']!.policies![0]!.actions = ['push']; }, 'schema'],
    ['dedupe on S3', (c) => { c.storage.dedupe = true; }, 'policy'],
    ['gc off', (c) => { c.storage.gc = false; }, 'policy'],
    ['no retention policy', (c) => { delete c.storage.retention; }, 'policy'],
    ['no TLS', (c) => { delete c.http.tls; }, 'policy'],
    ['no htpasswd', (c) => { delete c.http.auth; }, 'policy'],
    ['S3 keys in the file', (c) => { c.storage.storageDriver!.secretkey = 'x'; }, 'policy'],
    ['anonymous read', (c) => { c.http.accessControl!.repositories!['**']!.anonymousPolicy = ['read']; }, 'policy'],
    ['metrics off', (c) => { c.extensions = {}; }, 'policy'],
  ];
  for (const [name, change, by] of mistakes) {
    it(`catches: ${name}`, () => {
      const c = mutated(change);
      if (by === 'schema') expect(errorsOf(c).length).toBeGreaterThan(0);
      else {
        expect(errorsOf(c)).toEqual([]);
        expect(policyProblems(c).length).toBeGreaterThan(0);
      }
    });
  }
});

// zot itself, when tests/infra could build it (findGoTool). Without the binary only the documented
// schema above applies; the report of the run says which.
const zotBin = findGoTool('zot');
if (zotBin) {
  describe('zot runs with this config on the S3 store', () => {
    let zot: RunningZot;
    const bucket = `zot-run-${Date.now().toString(36)}`;
    const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

    beforeAll(async () => {
      const svc = services();
      const s3 = makeS3Client(loadConfig({ S3_BUCKET: bucket, S3_ENDPOINT: svc.s3.endpoint, S3_REGION: svc.s3.region }), {
        accessKeyId: svc.s3.accessKeyId,
        secretAccessKey: svc.s3.secretAccessKey,
      });
      await bootstrapBucket(s3, loadConfig({ S3_BUCKET: bucket, S3_ENDPOINT: svc.s3.endpoint, S3_PREFIX: 'zot', S3_LIFECYCLE: 'best-effort' }), { info: () => undefined, warn: () => undefined });
      s3.destroy();
      zot = await startZot(zotBin, svc, bucket);
    });
    afterAll(async () => {
      await zot?.proc.stop();
    });

    it('zot verify accepts the config', async () => {
      const r = await run(zotBin, ['verify', zot.configFile]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
    });

    it("a tenant's identity pulls its own namespace's snapshots, gets 403 for another tenant's, and cannot push", async () => {
      const oras = services().bin.oras;
      const dir = join(services().workDir, `zot-tenants-${Date.now().toString(36)}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'layer.txt'), 'tenant data\n');
      const [a, b] = ZOT_TENANTS;
      const common = ['--ca-file', zot.caFile, '-p', zot.password];
      for (const ns of ZOT_TENANTS) {
        const push = await run(oras, ['push', ...common, '-u', ZOT_USERS.push, `${zot.host}/${ns}/configuration/app:1.0.0`, 'layer.txt:application/vnd.oci.image.layer.v1.tar'], undefined, { cwd: dir });
        expect(push.code, push.stderr).toBe(0);
      }
      const pull = await run(oras, ['pull', ...common, '-u', `tenant-${a}`, '-o', join(dir, 'out'), `${zot.host}/${a}/configuration/app:1.0.0`]);
      expect(pull.code, pull.stderr).toBe(0);
      const other = await request(`${zot.url}/v2/${b}/configuration/app/manifests/1.0.0`, {
        dispatcher: zot.agent,
        headers: { authorization: basic(`tenant-${a}`, zot.password), accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      await other.body.dump();
      expect(other.statusCode).toBe(403);
      const push = await run(oras, ['push', ...common, '-u', `tenant-${a}`, `${zot.host}/${a}/configuration/app:evil`, 'layer.txt'], undefined, { cwd: dir });
      expect(push.code).not.toBe(0);
    });

    it('push as the functions, pull as the tenant, refuse tenant pushes and anonymous reads', async () => {
      const oras = services().bin.oras;
      const dir = join(services().workDir, `zot-artifact-${Date.now().toString(36)}`);
      await mkdir(dir, { recursive: true });
      const payload = `hello zot ${Date.now()}\n`;
      await writeFile(join(dir, 'layer.txt'), payload);
      const ref = `${zot.host}/ocm-tenant/resource/demo:1.0.0`;
      const common = ['--ca-file', zot.caFile, '-p', zot.password];
      const push = await run(oras, ['push', ...common, '-u', ZOT_USERS.push, ref, 'layer.txt:application/vnd.oci.image.layer.v1.tar'], undefined, { cwd: dir });
      expect(push.code, push.stderr).toBe(0);
      const out = join(dir, 'out');
      const pull = await run(oras, ['pull', ...common, '-u', 'tenant-ocm-tenant', '-o', out, ref]);
      expect(pull.code, pull.stderr).toBe(0);
      expect(await readFile(join(out, 'layer.txt'), 'utf8')).toBe(payload);
      const denied = await run(oras, ['push', ...common, '-u', 'tenant-ocm-tenant', `${zot.host}/ocm-tenant/resource/demo:evil`, 'layer.txt'], undefined, { cwd: dir });
      expect(denied.code).not.toBe(0);
      const anon = await request(`${zot.url}/v2/ocm-tenant/resource/demo/tags/list`, { dispatcher: zot.agent });
      await anon.body.dump();
      expect(anon.statusCode).toBe(401);
      const metrics = await request(`${zot.url}/metrics`, { dispatcher: zot.agent, headers: { authorization: basic(ZOT_USERS.metrics, zot.password) } });
      expect(metrics.statusCode).toBe(200);
      expect(await metrics.body.text()).toMatch(/zot_/);
    });
  });
}
