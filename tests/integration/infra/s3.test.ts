// Smoke test of the real S3 store (SeaweedFS) started by tests/infra: put/get/list, multipart upload,
// and credentials actually checked.
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { services } from '../../infra/services.js';
import { sha256Hex } from '../../support/digest.js';

function client(secret?: string): S3Client {
  const { s3 } = services();
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: secret ?? s3.secretAccessKey },
  });
}

describe('s3 store', () => {
  const c = client();
  afterAll(() => c.destroy());
  const prefix = `smoke-${Date.now().toString(36)}/`;

  it('put, get and list objects', async () => {
    const bucket = services().s3.bucket;
    const bodies = new Map([
      [`${prefix}a.bin`, randomBytes(1000)],
      [`${prefix}dir/b.bin`, randomBytes(3000)],
    ]);
    for (const [Key, Body] of bodies) await c.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
    for (const [Key, Body] of bodies) {
      const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key }));
      expect(sha256Hex(await got.Body!.transformToByteArray())).toBe(sha256Hex(Body));
    }
    const flat = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    expect(flat.Contents?.map((o) => o.Key).sort()).toEqual([...bodies.keys()].sort());
    const delimited = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/' }));
    expect(delimited.Contents?.map((o) => o.Key)).toEqual([`${prefix}a.bin`]);
    expect(delimited.CommonPrefixes?.map((p) => p.Prefix)).toEqual([`${prefix}dir/`]);
  });

  it('multipart upload reassembles the parts', async () => {
    const bucket = services().s3.bucket;
    const Key = `${prefix}multi.bin`;
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234)];
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
    const etags: { ETag: string; PartNumber: number }[] = [];
    for (const [i, Body] of parts.entries()) {
      const r = await c.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: i + 1, Body }));
      etags.push({ ETag: r.ETag!, PartNumber: i + 1 });
    }
    await c.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: etags } }));
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key }));
    const bytes = await got.Body!.transformToByteArray();
    expect(bytes.length).toBe(parts[0]!.length + parts[1]!.length);
    expect(sha256Hex(bytes)).toBe(sha256Hex(Buffer.concat(parts)));
  });

  it('rejects a wrong secret key', async () => {
    const bad = client('not-the-secret');
    try {
      const err = await bad.send(new ListObjectsV2Command({ Bucket: services().s3.bucket })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).name).toBe('SignatureDoesNotMatch');
    } finally {
      bad.destroy();
    }
  });
});
