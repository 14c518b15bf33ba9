/**
 * Makes an S3 bucket ready for zot, idempotently:
 *   1. create the bucket if it does not exist (an existing one is reused as is);
 *   2. prove the credentials can do what zot's s3 driver does: write, read, list, delete an object,
 *      and start, list and abort a multipart upload (every blob push is a multipart upload);
 *   3. make sure a lifecycle rule aborts incomplete multipart uploads (abandoned pushes otherwise
 *      keep their parts, and their cost, forever). Other rules on the bucket are kept.
 * Every failure names the step, the bucket and the store's error code.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
  type BucketLocationConstraint,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BootstrapConfig } from './config.js';

export const LIFECYCLE_RULE_ID = 'ocm-knative-abort-incomplete-multipart';

export type Step =
  | 'head-bucket'
  | 'create-bucket'
  | 'put-object'
  | 'get-object'
  | 'list-objects'
  | 'delete-object'
  | 'multipart'
  | 'get-lifecycle'
  | 'put-lifecycle';

export class BootstrapError extends Error {
  override readonly name = 'BootstrapError';
  constructor(
    readonly step: Step,
    readonly bucket: string,
    message: string,
    /** the store's error code (e.g. AccessDenied), when there was one */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(`bucket ${bucket}: ${step}: ${message}${code ? ` (${code})` : ''}`, options);
  }
}

export type LifecycleOutcome =
  | { status: 'created' | 'updated' | 'unchanged'; rules: number }
  | { status: 'unsupported'; code: string; message: string };

export interface BootstrapReport {
  bucket: string;
  bucketCreated: boolean;
  verified: { objectReadWriteDelete: true; list: true; multipart: true };
  lifecycle: LifecycleOutcome;
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

interface S3ErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function errCode(e: unknown): string | undefined {
  const s = e as S3ErrorShape;
  return s?.Code ?? s?.name;
}
function errStatus(e: unknown): number | undefined {
  return (e as S3ErrorShape)?.$metadata?.httpStatusCode;
}
function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function step<T>(name: Step, bucket: string, fn: () => Promise<T>, what: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof BootstrapError) throw e;
    throw new BootstrapError(name, bucket, `${what}: ${errMessage(e)}`, errCode(e), { cause: e });
  }
}

async function ensureBucket(s3: S3Client, cfg: BootstrapConfig, log: Logger): Promise<boolean> {
  const { bucket } = cfg;
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    log.info('bucket exists', { bucket });
    return false;
  } catch (e) {
    const status = errStatus(e);
    if (status === 403) {
      throw new BootstrapError(
        'head-bucket',
        bucket,
        'access denied: the bucket exists but these credentials may not use it (owned by another account, or missing s3:ListBucket)',
        errCode(e) ?? 'AccessDenied',
        { cause: e },
      );
    }
    if (status !== 404 && errCode(e) !== 'NotFound' && errCode(e) !== 'NoSuchBucket') {
      throw new BootstrapError('head-bucket', bucket, `cannot reach the store: ${errMessage(e)}`, errCode(e), { cause: e });
    }
  }
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        // us-east-1 is the one region that must NOT be named as a location constraint.
        ...(cfg.region !== 'us-east-1'
          ? { CreateBucketConfiguration: { LocationConstraint: cfg.region as BucketLocationConstraint } }
          : {}),
      }),
    );
    log.info('bucket created', { bucket, region: cfg.region });
    return true;
  } catch (e) {
    // Another bootstrap run created it between our HEAD and CREATE: that is success.
    if (errCode(e) === 'BucketAlreadyOwnedByYou') return false;
    if (errCode(e) === 'BucketAlreadyExists') {
      throw new BootstrapError('create-bucket', bucket, 'the name is taken by another account; choose another S3_BUCKET', 'BucketAlreadyExists', { cause: e });
    }
    throw new BootstrapError('create-bucket', bucket, errMessage(e), errCode(e), { cause: e });
  }
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  const b = body as { transformToByteArray?: () => Promise<Uint8Array> } | undefined;
  if (!b?.transformToByteArray) throw new Error('empty response body');
  return Buffer.from(await b.transformToByteArray());
}

async function verifyAccess(s3: S3Client, cfg: BootstrapConfig, log: Logger): Promise<void> {
  const { bucket } = cfg;
  const dir = `${cfg.prefix ? `${cfg.prefix}/` : ''}.ocm-knative-bootstrap/`;
  const key = `${dir}probe-${randomUUID()}`;
  const payload = randomBytes(1024);

  await step('put-object', bucket, () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: payload, ContentType: 'application/octet-stream' })), `write ${key}`);
  try {
    const got = await step('get-object', bucket, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })), `read ${key}`);
    const bytes = await step('get-object', bucket, () => bodyBytes(got.Body), `read ${key}`);
    if (!bytes.equals(payload)) {
      throw new BootstrapError('get-object', bucket, `read back ${bytes.length} bytes that differ from the ${payload.length} written to ${key}`);
    }
    const listed = await step('list-objects', bucket, () => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: dir, MaxKeys: 1000 })), `list ${dir}`);
    if (!(listed.Contents ?? []).some((o) => o.Key === key)) {
      throw new BootstrapError('list-objects', bucket, `listing ${dir} does not show the object just written (${key})`);
    }
  } finally {
    // Clean up even when a check above failed, so repeated runs leave nothing behind.
    await step('delete-object', bucket, () => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })), `delete ${key}`);
  }
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    throw new BootstrapError('delete-object', bucket, `${key} is still there after DeleteObject`);
  } catch (e) {
    if (e instanceof BootstrapError) throw e;
    if (errStatus(e) !== 404) throw new BootstrapError('delete-object', bucket, `checking ${key} is gone: ${errMessage(e)}`, errCode(e), { cause: e });
  }
  log.info('object write/read/list/delete verified', { bucket });

  // zot's s3 driver writes every blob as a multipart upload and finds a running one again with
  // ListMultipartUploads; a store or policy lacking these fails every push with HTTP 500.
  const mpKey = `${dir}multipart-${randomUUID()}`;
  const created = await step('multipart', bucket, () => s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: mpKey })), 'CreateMultipartUpload');
  const uploadId = created.UploadId;
  if (!uploadId) throw new BootstrapError('multipart', bucket, 'CreateMultipartUpload returned no UploadId');
  try {
    await step('multipart', bucket, () => s3.send(new UploadPartCommand({ Bucket: bucket, Key: mpKey, UploadId: uploadId, PartNumber: 1, Body: payload })), 'UploadPart');
    const uploads = await step('multipart', bucket, () => s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: mpKey })), 'ListMultipartUploads');
    if (!(uploads.Uploads ?? []).some((u) => u.UploadId === uploadId)) {
      throw new BootstrapError('multipart', bucket, `ListMultipartUploads does not show the upload just started (${mpKey})`);
    }
  } finally {
    await step('multipart', bucket, () => s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: mpKey, UploadId: uploadId })), 'AbortMultipartUpload');
  }
  log.info('multipart create/upload/list/abort verified', { bucket });
}

/** Codes stores use for "lifecycle configuration is not a thing here". */
const UNSUPPORTED = new Set(['NotImplemented', 'MethodNotAllowed', 'UnsupportedOperation', 'XNotImplemented']);

function ourRule(cfg: BootstrapConfig): LifecycleRule {
  return {
    ID: LIFECYCLE_RULE_ID,
    Status: 'Enabled',
    Filter: { Prefix: cfg.prefix ? `${cfg.prefix}/` : '' },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: cfg.abortMultipartDays },
  };
}

function sameRule(a: LifecycleRule, b: LifecycleRule): boolean {
  return (
    a.Status === b.Status &&
    (a.Filter?.Prefix ?? a.Prefix ?? '') === (b.Filter?.Prefix ?? b.Prefix ?? '') &&
    a.AbortIncompleteMultipartUpload?.DaysAfterInitiation === b.AbortIncompleteMultipartUpload?.DaysAfterInitiation &&
    a.Expiration === undefined &&
    a.NoncurrentVersionExpiration === undefined
  );
}

function unsupported(cfg: BootstrapConfig, log: Logger, stepName: Step, e: unknown): LifecycleOutcome {
  const code = errCode(e) ?? `HTTP ${errStatus(e) ?? '?'}`;
  if (cfg.lifecycle === 'required') {
    throw new BootstrapError(
      stepName,
      cfg.bucket,
      'the store does not support bucket lifecycle configuration; set S3_LIFECYCLE=best-effort to accept that (then clean up stale multipart uploads another way)',
      code,
      { cause: e },
    );
  }
  log.warn('store has no lifecycle support; incomplete multipart uploads are not aborted automatically', { bucket: cfg.bucket, code });
  return { status: 'unsupported', code, message: errMessage(e) };
}

async function ensureLifecycle(s3: S3Client, cfg: BootstrapConfig, log: Logger): Promise<LifecycleOutcome> {
  const { bucket } = cfg;
  let existing: LifecycleRule[] = [];
  try {
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    existing = got.Rules ?? [];
  } catch (e) {
    const code = errCode(e);
    if (code === 'NoSuchLifecycleConfiguration') existing = [];
    else if ((code && UNSUPPORTED.has(code)) || errStatus(e) === 501 || errStatus(e) === 405) return unsupported(cfg, log, 'get-lifecycle', e);
    else throw new BootstrapError('get-lifecycle', bucket, errMessage(e), code, { cause: e });
  }
  const want = ourRule(cfg);
  const mine = existing.find((r) => r.ID === LIFECYCLE_RULE_ID);
  if (mine && sameRule(mine, want)) {
    log.info('lifecycle rule already in place', { bucket, rule: LIFECYCLE_RULE_ID });
    return { status: 'unchanged', rules: existing.length };
  }
  const rules = [...existing.filter((r) => r.ID !== LIFECYCLE_RULE_ID), want];
  try {
    await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: rules } }));
  } catch (e) {
    const code = errCode(e);
    if ((code && UNSUPPORTED.has(code)) || errStatus(e) === 501 || errStatus(e) === 405) return unsupported(cfg, log, 'put-lifecycle', e);
    throw new BootstrapError('put-lifecycle', bucket, errMessage(e), code, { cause: e });
  }
  log.info(mine ? 'lifecycle rule updated' : 'lifecycle rule created', { bucket, rule: LIFECYCLE_RULE_ID, days: cfg.abortMultipartDays });
  return { status: mine ? 'updated' : 'created', rules: rules.length };
}

export async function bootstrapBucket(s3: S3Client, cfg: BootstrapConfig, log: Logger): Promise<BootstrapReport> {
  const bucketCreated = await ensureBucket(s3, cfg, log);
  await verifyAccess(s3, cfg, log);
  const lifecycle = await ensureLifecycle(s3, cfg, log);
  return { bucket: cfg.bucket, bucketCreated, verified: { objectReadWriteDelete: true, list: true, multipart: true }, lifecycle };
}
