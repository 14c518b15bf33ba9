/**
 * registry/config.json against zot's documented configuration schema (zot-schema.ts) and our
 * deployment policy (DESIGN §7), plus negative controls that show the checks catch mistakes.
 * When zot itself was built (tests/infra), zot-run.test.ts starts it with this config on S3.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './manifests.js';
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

  it('gives the functions push rights, Flux read-only, nobody anonymous', () => {
    const all = shipped.http.accessControl?.repositories?.['**'];
    const byUser = Object.fromEntries((all?.policies ?? []).flatMap((p) => (p.users ?? []).map((u) => [u, [...(p.actions ?? [])].sort()])));
    expect(byUser['ocm-knative']).toEqual(['create', 'delete', 'read', 'update']);
    expect(byUser.flux).toEqual(['read']);
    expect(all?.anonymousPolicy ?? []).toEqual([]);
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
