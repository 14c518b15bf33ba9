/**
 * Entry point of the bucket bootstrap Job: `node bootstrap.mjs` (bundled) or `tsx registry/bootstrap/main.ts`.
 * Prints one JSON line per step and a final report; exit 0 = bucket ready, 1 = failed (message says
 * which step and why), 2 = bad configuration.
 */
import { bootstrapBucket, BootstrapError, type Logger } from './bootstrap.js';
import { makeS3Client } from './client.js';
import { ConfigError, loadConfig } from './config.js';

const log: Logger = {
  info: (msg, fields) => console.log(JSON.stringify({ level: 'info', msg, ...fields })),
  warn: (msg, fields) => console.log(JSON.stringify({ level: 'warn', msg, ...fields })),
};

async function main(): Promise<number> {
  let cfg;
  try {
    cfg = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(JSON.stringify({ level: 'error', msg: `configuration: ${e.message}`, variable: e.variable }));
      return 2;
    }
    throw e;
  }
  const s3 = makeS3Client(cfg);
  try {
    const report = await bootstrapBucket(s3, cfg, log);
    console.log(JSON.stringify({ level: 'info', msg: 'bucket ready', ...report }));
    return 0;
  } catch (e) {
    if (e instanceof BootstrapError) {
      console.error(JSON.stringify({ level: 'error', msg: e.message, step: e.step, bucket: e.bucket, code: e.code }));
      return 1;
    }
    console.error(JSON.stringify({ level: 'error', msg: `unexpected: ${e instanceof Error ? e.message : String(e)}` }));
    return 1;
  } finally {
    s3.destroy();
  }
}

process.exitCode = await main();
