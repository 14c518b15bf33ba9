/**
 * The registry benchmark (bench/registry/method.ts) against the S3-backed docker-registry 2.8 of
 * tests/infra/start.ts, whose storage is SeaweedFS S3 on this machine. The layer is deleted from the bucket before
 * each push.
 *
 *   npx tsx bench/pipeline/registry-s3.ts [--runs 5] [--runs-big 5] [--sizes 200,1024]
 */
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { measureRegistry } from '../registry/method.js';
import { startServices } from '../../tests/infra/start.js';
import { TMP, arg, loadSampler, log, machine, writeResult } from './harness.js';

const RUNS = Number(arg('runs', '5'));
const RUNS_BIG = Number(arg('runs-big', String(RUNS)));
const SIZES = arg('sizes', '200,1024').split(',').map(Number);

async function main(): Promise<void> {
  await mkdir(TMP, { recursive: true });
  const started = await startServices({ tmpRoot: TMP, log });
  const load = loadSampler();
  const s = started.services;
  const reg = s.registry.s3;
  const s3 = new S3Client({
    endpoint: s.s3.endpoint,
    region: s.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.s3.accessKeyId, secretAccessKey: s.s3.secretAccessKey },
  });
  const prefix = `${reg.rootDirectory.replace(/^\/+/, '')}/docker/registry/v2/blobs/sha256/`;
  const name = `registry-s3-${SIZES.join('-')}`;
  const extra = { machine: machine(), registry: 'docker-registry 2.8 (S3 driver) on SeaweedFS S3' };
  try {
    const { results, table, floor } = await measureRegistry(
      {
        url: reg.url,
        host: reg.host,
        dropLayer: async (hex) => {
          const listed = await s3.send(new ListObjectsV2Command({ Bucket: reg.bucket, Prefix: `${prefix}${hex.slice(0, 2)}/${hex}/` }));
          const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
          if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: reg.bucket, Delete: { Objects: keys } }));
        },
      },
      {
        sizes: SIZES,
        runs: RUNS,
        runsBig: RUNS_BIG,
        work: join(s.workDir, 'bench-registry-s3'),
        log,
        onSize: async (partial) => void (await writeResult(name, { ...partial, ...extra, partial: true })),
      },
    );
    const file = await writeResult(name, { ...results, ...extra, load: load.stop() });
    process.stdout.write(`${table}\n\n${floor}\nresults in ${file}\n`);
  } finally {
    s3.destroy();
    await started.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
