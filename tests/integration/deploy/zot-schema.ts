/**
 * JSON Schema (draft-07) for the parts of zot's configuration we use, written from zot's documented
 * config (zot's examples/README.md and pkg/api/config/config.go, main branch after v2.1.20).
 * Sections we configure are closed (additionalProperties: false) so a misspelt key fails here instead
 * of being silently ignored by zot; sections we do not use are left open. `zot verify` is the
 * authority when the binary is available (the test runs it too).
 */
const duration = { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$' } as const;
const stringList = { type: 'array', items: { type: 'string' } } as const;

const s3Driver = {
  type: 'object',
  required: ['name', 'region', 'bucket'],
  additionalProperties: false,
  properties: {
    name: { const: 's3' },
    rootdirectory: { type: 'string' },
    region: { type: 'string', minLength: 1 },
    regionendpoint: { type: 'string' },
    bucket: { type: 'string', minLength: 3 },
    forcepathstyle: { type: 'boolean' },
    secure: { type: 'boolean' },
    skipverify: { type: 'boolean' },
    accesskey: { type: 'string' },
    secretkey: { type: 'string' },
    encrypt: { type: 'boolean' },
    keyid: { type: 'string' },
    v4auth: { type: 'boolean' },
    // distribution's s3-aws driver reads these with fmt.Sscanf("%d", fmt.Sprint(v)); zot hands JSON numbers over as
    // float64, printed as 3.3554432e+07 and read as 3 (zot v2.1.20 refused chunksize 33554432 at start, and silently
    // took multipartcopythresholdsize 5368709120 as 5). Digits in a string are read exactly.
    // chunksize: part size of multipart uploads, minimum 5 MiB (checked in policyProblems)
    chunksize: { type: 'string', pattern: '^[0-9]+$' },
    multipartcopychunksize: { type: 'string', pattern: '^[0-9]+$' },
    multipartcopythresholdsize: { type: 'string', pattern: '^[0-9]+$' },
    multipartcopymaxconcurrency: { type: 'string', pattern: '^[0-9]+$' },
    storageclass: { type: 'string' },
    objectacl: { type: 'string' },
    loglevel: { type: 'string' },
    usedualstack: { type: 'boolean' },
    accelerate: { type: 'boolean' },
  },
} as const;

const keepTags = {
  type: 'object',
  additionalProperties: false,
  properties: {
    patterns: stringList,
    pulledWithin: duration,
    pushedWithin: duration,
    mostRecentlyPushedCount: { type: 'integer', minimum: 0 },
    mostRecentlyPulledCount: { type: 'integer', minimum: 0 },
  },
} as const;

const retention = {
  type: 'object',
  additionalProperties: false,
  properties: {
    dryRun: { type: 'boolean' },
    delay: duration,
    policies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['repositories'],
        additionalProperties: false,
        properties: {
          repositories: { ...stringList, minItems: 1 },
          deleteReferrers: { type: 'boolean' },
          deleteUntagged: { type: 'boolean' },
          keepUntagged: { type: 'boolean' },
          keepTags: { type: 'array', items: keepTags },
        },
      },
    },
  },
} as const;

const storage = {
  type: 'object',
  required: ['rootDirectory'],
  additionalProperties: false,
  properties: {
    rootDirectory: { type: 'string', minLength: 1 },
    dedupe: { type: 'boolean' },
    remoteCache: { type: 'boolean' },
    gc: { type: 'boolean' },
    gcDelay: duration,
    gcInterval: duration,
    gcTimeWindow: { type: 'string', pattern: '^\\d{2}:\\d{2}-\\d{2}:\\d{2}$' },
    retention,
    commit: { type: 'boolean' },
    fastRestart: { type: 'boolean' },
    redirectBlobURL: { type: 'boolean' },
    maxRepos: { type: 'integer', minimum: 0 },
    storageDriver: s3Driver,
    cacheDriver: { type: 'object', required: ['name'], properties: { name: { enum: ['boltdb', 'dynamodb', 'redis'] } } },
    subPaths: { type: 'object' },
  },
} as const;

const accessPolicy = {
  type: 'object',
  additionalProperties: false,
  properties: {
    users: stringList,
    groups: stringList,
    actions: { type: 'array', items: { enum: ['read', 'create', 'update', 'delete', 'detectManifestCollision'] } },
  },
} as const;

const http = {
  type: 'object',
  required: ['address', 'port'],
  additionalProperties: false,
  properties: {
    address: { type: 'string' },
    port: { type: 'string', pattern: '^[0-9]{1,5}$' },
    externalUrl: { type: 'string' },
    realm: { type: 'string' },
    readTimeout: duration,
    writeTimeout: duration,
    compat: stringList,
    tls: {
      type: 'object',
      required: ['cert', 'key'],
      additionalProperties: false,
      properties: { cert: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 }, cacert: { type: 'string' } },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        htpasswd: { type: 'object', required: ['path'], additionalProperties: false, properties: { path: { type: 'string', minLength: 1 } } },
        bearer: { type: 'object' },
        ldap: { type: 'object' },
        openid: { type: 'object' },
        apikey: { type: 'boolean' },
        failDelay: { type: 'integer', minimum: 0 },
        sessionDriver: { type: 'object' },
      },
    },
    accessControl: {
      type: 'object',
      additionalProperties: false,
      properties: {
        repositories: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: {
              policies: { type: 'array', items: accessPolicy },
              defaultPolicy: { type: 'array', items: { enum: ['read', 'create', 'update', 'delete', 'detectManifestCollision'] } },
              anonymousPolicy: { type: 'array', items: { enum: ['read', 'create', 'update', 'delete', 'detectManifestCollision'] } },
            },
          },
        },
        adminPolicy: accessPolicy,
        groups: { type: 'object' },
        metrics: { type: 'object', additionalProperties: false, properties: { users: stringList } },
      },
    },
    ratelimit: { type: 'object' },
  },
} as const;

export const zotConfigSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'zot configuration (subset used by ocm-knative)',
  type: 'object',
  required: ['distSpecVersion', 'storage', 'http'],
  additionalProperties: false,
  properties: {
    distSpecVersion: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+' },
    storage,
    http,
    log: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { enum: ['panic', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] }, output: { type: 'string' }, audit: { type: 'string' } },
    },
    extensions: {
      type: 'object',
      additionalProperties: false,
      properties: {
        metrics: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enable: { type: 'boolean' },
            prometheus: { type: 'object', additionalProperties: false, properties: { path: { type: 'string', pattern: '^/' } } },
          },
        },
        search: { type: 'object' },
        sync: { type: 'object' },
        scrub: { type: 'object' },
        ui: { type: 'object' },
        lint: { type: 'object' },
        trust: { type: 'object' },
        mgmt: { type: 'object' },
        apikey: { type: 'object' },
        // zot's pkg/extensions/config/events: sinks of type http (CloudEvents binary mode) or nats
        events: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enable: { type: 'boolean' },
            sinks: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['type', 'address'],
                properties: {
                  type: { enum: ['http', 'nats'] },
                  address: { type: 'string', minLength: 1 },
                  channel: { type: 'string' },
                  timeout: duration,
                  proxy: { type: 'string' },
                  headers: { type: 'object', additionalProperties: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
    scheduler: { type: 'object', properties: { numWorkers: { type: 'integer', minimum: 1 } } },
    cluster: { type: 'object' },
  },
} as const;

/** The zot config type as far as our policy checks look into it. */
export interface ZotConfig {
  distSpecVersion: string;
  storage: {
    rootDirectory: string;
    dedupe?: boolean;
    gc?: boolean;
    retention?: { policies?: { repositories: string[]; deleteUntagged?: boolean }[] };
    storageDriver?: { name: string; rootdirectory?: string; bucket: string; regionendpoint?: string; secure?: boolean; accesskey?: string; secretkey?: string; chunksize?: string; multipartcopychunksize?: string };
  };
  http: {
    address: string;
    port: string;
    readTimeout?: string;
    writeTimeout?: string;
    tls?: { cert: string; key: string };
    auth?: { htpasswd?: { path: string } };
    accessControl?: { repositories?: Record<string, { policies?: { users?: string[]; actions?: string[] }[]; defaultPolicy?: string[]; anonymousPolicy?: string[] }> };
  };
  extensions?: { metrics?: { enable?: boolean; prometheus?: { path?: string } } };
}

/** A Go duration string (e.g. "1h30m", "90s") in seconds; NaN when it is not one. */
export function goDurationSeconds(d: string): number {
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const parts = [...d.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((m) => m[0]).join('') !== d) return NaN;
  return parts.reduce((sum, m) => sum + Number(m[1]) * (unit[m[2] as string] as number), 0);
}

/**
 * zot's http.readTimeout and http.writeTimeout bound a whole request, body included (Go's http.Server), and
 * `zot serve` sets both to 60 s when the file leaves them out: a blob push or pull slower than a minute is cut
 * off. A cut-off response reaches a client as a TLS record out of sequence ("decryption failed or bad record
 * mac"), because Go's TLS sends its close_notify after the write that timed out. 10 minutes is the floor the
 * policy accepts (1 GiB at under 2 MiB/s).
 */
export const MIN_HTTP_TIMEOUT_S = 600;

/**
 * Our deployment policy on top of the schema (docs/design.md §7): each entry is a reason the config is
 * not fit for ocm-knative; empty = fit.
 */
export function policyProblems(c: ZotConfig): string[] {
  const p: string[] = [];
  const d = c.storage.storageDriver;
  if (d?.name !== 's3') p.push('storage.storageDriver must be the s3 driver');
  if (d?.name === 's3' && c.storage.dedupe !== false) p.push('storage.dedupe must be false on S3 (stub-blob bugs, no shared cache)');
  if (c.storage.gc !== true) p.push('storage.gc must be true');
  if (!c.storage.retention?.policies?.length) p.push('storage.retention needs at least one policy (GC frees nothing without one)');
  if (!c.http.tls) p.push('http.tls must be set');
  if (!c.http.auth?.htpasswd) p.push('http.auth.htpasswd must be set');
  for (const key of ['readTimeout', 'writeTimeout'] as const) {
    const v = c.http[key];
    if (v === undefined) p.push(`http.${key} must be set (zot's 60 s default cuts off blob transfers slower than a minute)`);
    else if (!(goDurationSeconds(v) >= MIN_HTTP_TIMEOUT_S)) p.push(`http.${key} must be at least ${MIN_HTTP_TIMEOUT_S / 60}m (a whole blob transfer must fit)`);
  }
  if (d?.accesskey || d?.secretkey) p.push('S3 credentials must come from the environment, not the config file');
  if (d?.secure === false) p.push('storageDriver.secure must not be false in the shipped config');
  for (const key of ['chunksize', 'multipartcopychunksize'] as const) {
    const v = d?.[key];
    if (v !== undefined && !(Number(v) >= 5 * 1024 * 1024 && Number(v) <= 5 * 1024 ** 3)) p.push(`storageDriver.${key} must be between 5 MiB and 5 GiB (S3 part sizes)`);
  }
  if (c.extensions?.metrics?.enable !== true) p.push('extensions.metrics.enable must be true');
  for (const [repo, ac] of Object.entries(c.http.accessControl?.repositories ?? {})) {
    if (ac.anonymousPolicy?.length) p.push(`accessControl ${repo}: no anonymous access`);
    if (ac.defaultPolicy?.length) p.push(`accessControl ${repo}: defaultPolicy must be empty (every user is named)`);
  }
  return p;
}
