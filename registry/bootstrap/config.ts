/**
 * Bucket bootstrap settings, read from the environment (the Job's env, see ../bootstrap-job.yaml).
 * Credentials are not read here: the AWS SDK's default chain picks up AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY (or a web identity / instance role), so they never pass through our code.
 */

export type LifecycleMode = 'required' | 'best-effort';

export interface BootstrapConfig {
  bucket: string;
  region: string;
  /** S3-compatible endpoint (MinIO, Ceph RGW, ...); undefined = AWS. */
  endpoint: string | undefined;
  forcePathStyle: boolean;
  /** Key prefix zot writes under (storageDriver.rootdirectory without the leading slash). */
  prefix: string;
  /** Days after which incomplete multipart uploads are aborted by the lifecycle rule. */
  abortMultipartDays: number;
  /**
   * `required`: a store that rejects lifecycle configuration fails the bootstrap.
   * `best-effort`: it is reported and the run succeeds (for stores without lifecycle support).
   */
  lifecycle: LifecycleMode;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function nonEmpty(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function bool(env: Env, name: string, dflt: boolean): boolean {
  const v = nonEmpty(env, name);
  if (v === undefined) return dflt;
  if (/^(true|1|yes)$/i.test(v)) return true;
  if (/^(false|0|no)$/i.test(v)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(v)}`);
}

// S3 bucket naming rules (DNS-compatible subset, which every S3-compatible store accepts).
const BUCKET_RE = /^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function loadConfig(env: Env = process.env): BootstrapConfig {
  const bucket = nonEmpty(env, 'S3_BUCKET');
  if (bucket === undefined) throw new ConfigError('S3_BUCKET', 'is required (the bucket zot stores blobs in)');
  if (!BUCKET_RE.test(bucket)) {
    throw new ConfigError('S3_BUCKET', `${JSON.stringify(bucket)} is not a valid bucket name (3-63 chars: a-z 0-9 . -)`);
  }

  const endpoint = nonEmpty(env, 'S3_ENDPOINT');
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new ConfigError('S3_ENDPOINT', `${JSON.stringify(endpoint)} is not a URL (e.g. https://minio.example:9000)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError('S3_ENDPOINT', `must be http(s), got ${url.protocol}`);
    }
  }

  const daysRaw = nonEmpty(env, 'S3_ABORT_MULTIPART_DAYS') ?? '1';
  const abortMultipartDays = Number(daysRaw);
  if (!Number.isInteger(abortMultipartDays) || abortMultipartDays < 1 || abortMultipartDays > 3650) {
    throw new ConfigError('S3_ABORT_MULTIPART_DAYS', `expected a whole number of days 1..3650, got ${JSON.stringify(daysRaw)}`);
  }

  const lifecycle = nonEmpty(env, 'S3_LIFECYCLE') ?? 'required';
  if (lifecycle !== 'required' && lifecycle !== 'best-effort') {
    throw new ConfigError('S3_LIFECYCLE', `expected "required" or "best-effort", got ${JSON.stringify(lifecycle)}`);
  }

  const prefix = (nonEmpty(env, 'S3_PREFIX') ?? '').replace(/^\/+|\/+$/g, '');

  return {
    bucket,
    region: nonEmpty(env, 'S3_REGION') ?? nonEmpty(env, 'AWS_REGION') ?? 'us-east-1',
    endpoint,
    // Custom endpoints rarely do virtual-hosted buckets; AWS does both.
    forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', endpoint !== undefined),
    prefix,
    abortMultipartDays,
    lifecycle,
  };
}
