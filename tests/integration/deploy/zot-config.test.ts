/**
 * registry/config.json against zot's documented configuration schema (zot-schema.ts) and our
 * deployment policy (docs/design.md §7), plus negative controls that show the checks catch mistakes.
 * Then zot itself, which the harness runs with this config on S3 (tests/infra/zot.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Ajv } from 'ajv';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeS3Client } from '../../../registry/bootstrap/client.js';
import { loadConfig } from '../../../registry/bootstrap/config.js';
import { goTool } from '../../infra/binaries.js';
import { services } from '../../infra/services.js';
import { sha256 } from '../../support/digest.js';
import { repoRoot, run } from './manifests.js';
import { policyProblems, zotConfigSchema, type ZotConfig } from './zot-schema.js';
import { withTenant } from '../../../functions/runner/tenant.js';
import { startZot, ZOT_TENANT } from '../../infra/zot.js';
import { describeConnectionError, digestFile, fileSource, RegistryClient } from '../../../shared/oci/index.js';
import { MediaType } from '../../../shared/oci/media-types.js';

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
    const added = withTenant(shipped, 'team-a') as ZotConfig;
    expect(added.http.accessControl?.repositories?.['team-a/**']?.policies).toEqual([...(all?.policies ?? []), { users: ['tenant-team-a'], actions: ['read'] }]);
    expect(errorsOf(added)).toEqual([]);
    expect(policyProblems(added)).toEqual([]);
  });

  // Negative controls: each mistake must be caught, by the schema or by the policy.
  const mistakes: [string, (c: ZotConfig & Record<string, unknown>) => void, 'schema' | 'policy'][] = [
    ['misspelt storage key (dedup)', (c) => { (c.storage as Record<string, unknown>).dedup = false; }, 'schema'],
    ['port as a number', (c) => { (c.http as Record<string, unknown>).port = 5000; }, 'schema'],
    ['unknown top-level section', (c) => { c.storrage = {}; }, 'schema'],
    ['chunksize below the 5 MiB S3 part minimum', (c) => { (c.storage.storageDriver as Record<string, unknown>).chunksize = '1024'; }, 'policy'],
    ['chunksize as a JSON number (zot reads 33554432 as 3)', (c) => { (c.storage.storageDriver as Record<string, unknown>).chunksize = 33554432; }, 'schema'],
    ['unknown events sink type', (c) => { (c.extensions as { events: { sinks: { type: string }[] } }).events.sinks[0]!.type = 'kafka'; }, 'schema'],
    ['bad gcDelay duration', (c) => { (c.storage as Record<string, unknown>).gcDelay = 'one hour'; }, 'schema'],
    ['unknown access action', (c) => { c.http.accessControl!.repositories!['**']!.policies![0]!.actions = ['push']; }, 'schema'],
    ['dedupe on S3', (c) => { c.storage.dedupe = true; }, 'policy'],
    ['gc off', (c) => { c.storage.gc = false; }, 'policy'],
    ['no retention policy', (c) => { delete c.storage.retention; }, 'policy'],
    ['no TLS', (c) => { delete c.http.tls; }, 'policy'],
    ['no htpasswd', (c) => { delete c.http.auth; }, 'policy'],
    ["zot's 60 s default request timeouts (none set)", (c) => { delete c.http.readTimeout; delete c.http.writeTimeout; }, 'policy'],
    ['a write timeout too short for a blob transfer', (c) => { c.http.writeTimeout = '2m'; }, 'policy'],
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

// zot itself: the harness runs it with this config (tests/infra/zot.ts renders it with only a user's overrides).
describe('zot runs with this config on the S3 store', () => {
  const basic = (c: { username: string; password: string }) => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
  let agent: Agent;
  beforeAll(async () => {
    agent = new Agent({ connect: { ca: await readFile(services().registry.zot.caFile) } });
  });
  afterAll(async () => {
    await agent?.close();
  });

  it('zot verify accepts the shipped file and the rendered one', async () => {
    const zot = services().registry.zot;
    for (const file of [join(repoRoot, 'registry/config.json'), zot.configFile]) {
      const r = await run(goTool('zot'), ['verify', file]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
    }
  });

  it("a tenant's identity (ocm-knative tenant add) pulls its namespace's snapshots and gets 403 for another namespace's", async () => {
    const zot = services().registry.zot;
    const oras = services().bin.oras;
    const dir = join(services().workDir, `zot-tenants-${Date.now().toString(36)}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'layer.txt'), 'tenant data\n');
    const as = (c: { username: string; password: string }) => ['--ca-file', zot.caFile, '-u', c.username, '-p', c.password];
    const own = `${zot.host}/${ZOT_TENANT}/configuration/app:1.0.0`;
    const other = `${zot.host}/tenant-b/configuration/app:1.0.0`;
    for (const ref of [own, other]) {
      const push = await run(oras, ['push', ...as(zot.push), ref, 'layer.txt:application/vnd.oci.image.layer.v1.tar'], undefined, { cwd: dir });
      expect(push.code, push.stderr).toBe(0);
    }
    const pull = await run(oras, ['pull', ...as(zot.read), '-o', join(dir, 'out'), own]);
    expect(pull.code, pull.stderr).toBe(0);
    const res = await request(`${zot.url}/v2/tenant-b/configuration/app/manifests/1.0.0`, {
      dispatcher: agent,
      headers: { authorization: basic(zot.read), accept: MediaType.ImageManifest },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(403);
    // the push identity reads every namespace: it stays with the functions (knative/secrets, ocm-knative-system)
    const pushRead = await run(oras, ['pull', ...as(zot.push), '-o', join(dir, 'out-b'), other]);
    expect(pushRead.code, pushRead.stderr).toBe(0);
  });

  it("push as the functions, pull as the tenant's identity, refuse its pushes and anonymous reads", async () => {
    const zot = services().registry.zot;
    const oras = services().bin.oras;
    const dir = join(services().workDir, `zot-artifact-${Date.now().toString(36)}`);
    await mkdir(dir, { recursive: true });
    const payload = `hello zot ${Date.now()}\n`;
    await writeFile(join(dir, 'layer.txt'), payload);
    const ref = `${zot.host}/ocm-tenant/resource/demo:1.0.0`;
    const as = (c: { username: string; password: string }) => ['--ca-file', zot.caFile, '-u', c.username, '-p', c.password];
    const push = await run(oras, ['push', ...as(zot.push), ref, 'layer.txt:application/vnd.oci.image.layer.v1.tar'], undefined, { cwd: dir });
    expect(push.code, push.stderr).toBe(0);
    const out = join(dir, 'out');
    const pull = await run(oras, ['pull', ...as(zot.read), '-o', out, ref]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(await readFile(join(out, 'layer.txt'), 'utf8')).toBe(payload);
    const denied = await run(oras, ['push', ...as(zot.read), `${zot.host}/ocm-tenant/resource/demo:evil`, 'layer.txt'], undefined, { cwd: dir });
    expect(denied.code).not.toBe(0);
    const anon = await request(`${zot.url}/v2/ocm-tenant/resource/demo/tags/list`, { dispatcher: agent });
    await anon.body.dump();
    expect(anon.statusCode).toBe(401);
    const notMetrics = await request(`${zot.url}/metrics`, { dispatcher: agent, headers: { authorization: basic(zot.read) } });
    await notMetrics.body.dump();
    expect(notMetrics.statusCode).toBe(403);
    const metrics = await request(`${zot.url}/metrics`, { dispatcher: agent, headers: { authorization: basic(zot.metrics) } });
    expect(metrics.statusCode).toBe(200);
    expect(await metrics.body.text()).toMatch(/zot_/);
  });

  it("an upload slower than a minute (zot's default request timeout) is taken with the shipped timeouts", { timeout: 180_000 }, async () => {
    const zot = services().registry.zot;
    const auth = { authorization: basic(zot.push) };
    const repo = `ocm-tenant/slow/upload-${Date.now().toString(36)}`;
    const started = await request(`${zot.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', dispatcher: agent, headers: auth });
    await started.body.dump();
    expect(started.statusCode).toBe(202);
    const location = new URL(String(started.headers.location), zot.url);
    // 13 pieces, 5.5 s apart: the request lasts over 66 s, past the 60 s zot applies when the file sets none
    const pieces = Array.from({ length: 13 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const body = Buffer.concat(pieces);
    const digest = sha256(body);
    location.searchParams.set('digest', digest);
    async function* slowly(): AsyncGenerator<Buffer> {
      for (const [i, piece] of pieces.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 5_500));
        yield piece;
      }
    }
    const t0 = Date.now();
    const put = await request(location, {
      method: 'PUT',
      dispatcher: agent,
      headers: { ...auth, 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
      body: Readable.from(slowly()),
    });
    const answer = await put.body.text();
    expect(Date.now() - t0).toBeGreaterThan(60_000);
    expect(put.statusCode, answer).toBe(201);
    expect(put.headers['docker-content-digest']).toBe(digest);
    const head = await request(`${zot.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', dispatcher: agent, headers: auth });
    await head.body.dump();
    expect(head.statusCode).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(body.length);
  });

  it('with a write timeout shorter than the upload, zot cuts off its answer and the client says so in words', { timeout: 180_000 }, async () => {
    // what the shipped 30m prevents, on a zot of its own with writeTimeout 1s: the 201 is written past the deadline,
    // Go's TLS still sends close_notify with the next record number, and OpenSSL reports a bad record
    const s = services();
    const zot = await startZot({
      bin: goTool('zot'),
      workDir: s.workDir,
      ca: s.ca,
      s3: s.s3,
      name: `zot-short-timeout-${Date.now().toString(36)}`,
      rootDirectory: '/zot-short-timeout',
      edit: (c) => {
        c.http.writeTimeout = '1s';
      },
    });
    const client = new RegistryClient({ url: zot.endpoint.url, caFile: zot.endpoint.caFile, credentials: zot.endpoint.push, retry: { maxAttempts: 1 } });
    try {
      // 128 MiB through the raw-socket upload (what the functions use for large blobs): zot on S3 takes seconds
      const file = join(s.workDir, `cut-off-${Date.now().toString(36)}.bin`);
      await writeFile(file, randomBytes(128 * 1024 * 1024));
      const err = await client
        .repository('ocm-tenant/slow/cut-off')
        .blobs.push(await digestFile(file), fileSource(file))
        .then(() => undefined, (e: unknown) => e);
      expect(err).toBeDefined();
      expect(describeConnectionError(err, zot.endpoint.host)).toEqual({
        message: `registry ${zot.endpoint.host} broke off the TLS stream mid-request (a record out of sequence); zot does this when its http.readTimeout or http.writeTimeout (60 s unless set) ends a long transfer`,
        transient: true,
      });
    } finally {
      await client.close();
      await zot.stop();
    }
  });

  it('stores blobs in the S3 bucket under the shipped prefix', async () => {
    const zot = services().registry.zot;
    const svc = services();
    const s3 = makeS3Client(loadConfig({ S3_BUCKET: zot.bucket, S3_ENDPOINT: svc.s3.endpoint, S3_REGION: svc.s3.region }), {
      accessKeyId: svc.s3.accessKeyId,
      secretAccessKey: svc.s3.secretAccessKey,
    });
    try {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: zot.bucket, Prefix: `${zot.rootDirectory.replace(/^\//, '')}/` }));
      expect((listed.Contents ?? []).map((o) => o.Key).some((k) => /\/blobs\/sha256\/[0-9a-f]{64}$/.test(k ?? ''))).toBe(true);
    } finally {
      s3.destroy();
    }
  });
});
