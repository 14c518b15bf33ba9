/**
 * The zot bucket bootstrap (registry/bootstrap) against the real S3 store of the test harness:
 * runs twice (idempotent), reads the lifecycle rule back (or proves the store rejects lifecycle
 * configuration and that `required` mode then fails loudly), keeps foreign lifecycle rules, and
 * gives clear errors for bad credentials, an unreachable store and bad configuration.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DeleteBucketCommand,
  GetBucketLifecycleConfigurationCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapBucket, BootstrapError, LIFECYCLE_RULE_ID, type BootstrapReport, type Logger } from '../../../registry/bootstrap/bootstrap.js';
import { makeS3Client } from '../../../registry/bootstrap/client.js';
import { ConfigError, loadConfig } from '../../../registry/bootstrap/config.js';

import { services } from '../../infra/services.js';
import { freePort } from '../../support/free-port.js';
import { repoRoot } from './manifests.js';

const exec = promisify(execFile);

interface Captured extends Logger {
  lines: { level: string; msg: string }[];
}
function captureLog(): Captured {
  const lines: { level: string; msg: string }[] = [];
  return { lines, info: (msg) => lines.push({ level: 'info', msg }), warn: (msg) => lines.push({ level: 'warn', msg }) };
}

function envFor(bucket: string, extra: Record<string, string> = {}): Record<string, string> {
  const s3 = services().s3;
  return { S3_BUCKET: bucket, S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region, S3_PREFIX: 'zot', S3_LIFECYCLE: 'best-effort', ...extra };
}

function clientFor(env: Record<string, string>, creds?: { accessKeyId: string; secretAccessKey: string }): S3Client {
  const s3 = services().s3;
  return makeS3Client(loadConfig(env), creds ?? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
}

describe('bucket bootstrap on the real S3 store', () => {
  const bucket = `zot-boot-${Date.now().toString(36)}`;
  const env = () => envFor(bucket);
  let client: S3Client;
  const reports: BootstrapReport[] = [];

  beforeAll(async () => {
    client = clientFor(env());
    reports.push(await bootstrapBucket(client, loadConfig(env()), captureLog()));
    reports.push(await bootstrapBucket(client, loadConfig(env()), captureLog()));
  });

  afterAll(async () => {
    await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    client.destroy();
  });

  it('creates the bucket on the first run and reuses it on the second', () => {
    expect(reports[0]!.bucketCreated).toBe(true);
    expect(reports[1]!.bucketCreated).toBe(false);
    for (const r of reports) expect(r.verified).toEqual({ objectReadWriteDelete: true, list: true, multipart: true });
  });

  it('leaves no probe objects behind', async () => {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'zot/' }));
    expect(listed.Contents ?? []).toEqual([]);
  });

  it('sets the abort-incomplete-multipart lifecycle rule once and reads it back (or documents that the store has none)', async () => {
    const [first, second] = reports.map((r) => r.lifecycle);
    if (first!.status === 'unsupported') {
      // The store has no bucket lifecycle API: both runs say so, and `required` mode refuses to pass.
      expect(second!.status).toBe('unsupported');
      const err = await bootstrapBucket(client, loadConfig(envFor(bucket, { S3_LIFECYCLE: 'required' })), captureLog()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BootstrapError);
      expect((err as BootstrapError).step).toMatch(/lifecycle/);
      expect((err as BootstrapError).message).toMatch(/S3_LIFECYCLE=best-effort/);
      console.info(`[bootstrap] S3 store has no lifecycle support: ${first!.code} (${first!.message})`);
      return;
    }
    expect(first!.status).toBe('created');
    expect(second!.status).toBe('unchanged');
    const got = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    const rule = (got.Rules ?? []).find((r) => r.ID === LIFECYCLE_RULE_ID);
    expect(rule?.Status).toBe('Enabled');
    expect(rule?.AbortIncompleteMultipartUpload?.DaysAfterInitiation).toBe(1);
    expect(rule?.Filter?.Prefix ?? rule?.Prefix).toBe('zot/');
  });

  it('keeps lifecycle rules it does not own and updates its own when the setting changes', async () => {
    if (reports[0]!.lifecycle.status === 'unsupported') {
      const err = await client
        .send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [{ ID: 'x', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } }] } }))
        .catch((e: unknown) => e);
      expect(err, 'the store rejects lifecycle configuration outright').toBeInstanceOf(Error);
      return;
    }
    await client.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: {
          Rules: [
            { ID: 'someone-else', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 7 } },
            { ID: LIFECYCLE_RULE_ID, Status: 'Enabled', Filter: { Prefix: 'zot/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
          ],
        },
      }),
    );
    const report = await bootstrapBucket(client, loadConfig(envFor(bucket, { S3_ABORT_MULTIPART_DAYS: '3' })), captureLog());
    expect(report.lifecycle.status).toBe('updated');
    const got = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    expect((got.Rules ?? []).map((r) => r.ID).sort()).toEqual([LIFECYCLE_RULE_ID, 'someone-else']);
    expect(got.Rules?.find((r) => r.ID === LIFECYCLE_RULE_ID)?.AbortIncompleteMultipartUpload?.DaysAfterInitiation).toBe(3);
  });

  it('bad credentials: a BootstrapError naming the bucket, the step and the store error', async () => {
    const bad = clientFor(env(), { accessKeyId: 'nobody', secretAccessKey: 'wrong-secret' });
    try {
      const err = await bootstrapBucket(bad, loadConfig(env()), captureLog()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BootstrapError);
      expect((err as BootstrapError).step).toBe('head-bucket');
      expect((err as BootstrapError).message).toContain(bucket);
      expect((err as BootstrapError).message).toMatch(/access denied|credentials/i);
    } finally {
      bad.destroy();
    }
  });

  it('unreachable store: a BootstrapError saying so, quickly', async () => {
    const port = await freePort();
    const e = envFor(bucket, { S3_ENDPOINT: `http://127.0.0.1:${port}` });
    const c = clientFor(e);
    const t0 = Date.now();
    try {
      const err = await bootstrapBucket(c, loadConfig(e), captureLog()).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(BootstrapError);
      expect((err as BootstrapError).message).toMatch(/cannot reach the store/);
      expect(Date.now() - t0).toBeLessThan(20_000);
    } finally {
      c.destroy();
    }
  });

  it('bad configuration names the variable', () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({ S3_BUCKET: 'Bad_Name' })).toThrow(/S3_BUCKET/);
    expect(() => loadConfig({ S3_BUCKET: 'ok-bucket', S3_ENDPOINT: 'not a url' })).toThrow(/S3_ENDPOINT/);
    expect(() => loadConfig({ S3_BUCKET: 'ok-bucket', S3_ABORT_MULTIPART_DAYS: '0' })).toThrow(/S3_ABORT_MULTIPART_DAYS/);
    expect(() => loadConfig({ S3_BUCKET: 'ok-bucket', S3_LIFECYCLE: 'maybe' })).toThrow(/S3_LIFECYCLE/);
    expect(loadConfig({ S3_BUCKET: 'ok-bucket', S3_ENDPOINT: 'http://x:1', S3_PREFIX: '/zot/' })).toMatchObject({ prefix: 'zot', forcePathStyle: true });
  });

  it('runs as the Job does (entry point, env only): exit 0 with a report; exit 2 on bad config', async () => {
    const s3 = services().s3;
    const jobBucket = `${bucket}-job`;
    const childEnv = { ...process.env, ...envFor(jobBucket), AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
    const main = join(repoRoot, 'registry/bootstrap/main.ts');
    const ok = await exec(process.execPath, ['--import', 'tsx', main], { env: childEnv, cwd: repoRoot });
    const last = JSON.parse(ok.stdout.trim().split('\n').at(-1)!) as { msg: string; bucketCreated: boolean };
    expect(last.msg).toBe('bucket ready');
    expect(last.bucketCreated).toBe(true);
    const bad = await exec(process.execPath, ['--import', 'tsx', main], { env: { ...childEnv, S3_BUCKET: 'Not_Valid' }, cwd: repoRoot }).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toMatch(/S3_BUCKET/);
    const c = clientFor(envFor(jobBucket));
    await c.send(new DeleteBucketCommand({ Bucket: jobBucket })).catch(() => undefined);
    c.destroy();
  });
});
