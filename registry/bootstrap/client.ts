/** Builds the S3 client for the bootstrap from its config (credentials: the SDK's default chain). */
import { S3Client } from '@aws-sdk/client-s3';
import type { BootstrapConfig } from './config.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export function makeS3Client(cfg: BootstrapConfig, credentials?: Credentials): S3Client {
  const client = new S3Client({
    region: cfg.region,
    ...(cfg.endpoint !== undefined ? { endpoint: cfg.endpoint } : {}),
    forcePathStyle: cfg.forcePathStyle,
    ...(credentials ? { credentials } : {}),
    maxAttempts: 4,
    // Fail fast on an unreachable endpoint instead of hanging the Job until its deadline.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
    // S3-compatible stores (MinIO, Ceph RGW, older gateways) often reject the SDK's default
    // flexible checksums (x-amz-checksum-* / aws-chunked trailers); send them only where S3 requires.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  if (cfg.forcePathStyle) {
    // Path-style bucket-level requests in their canonical form `/bucket?uploads`, as zot's Go driver
    // sends them; the JS SDK writes `/bucket/?uploads`, which some S3-compatible stores route as an
    // object request with an empty key. Runs before signing, so the signature covers the final path.
    client.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { path?: unknown };
        if (typeof req.path === 'string' && /^\/[^/]+\/$/.test(req.path)) req.path = req.path.slice(0, -1);
        return next(args);
      },
      { step: 'build', name: 'canonicalBucketPath' },
    );
  }
  return client;
}
