/**
 * Our CRDs in a real kube-apiserver: they install, the objects in tests/fixtures/kube/corpus.ts are accepted
 * (with the same defaults admitObject applies) or rejected with the message a user needs, at the same
 * field paths our local validation reports: proof that the runner and the cluster agree.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { admitObject, gvrOf, InvalidError, KubeClient, KINDS, toKubeError, validateObject, type KubeError, type OurObject } from '../../../shared/kube/index.js';
import { createNamespace, installCrds, kubeConfig } from '../../infra/kube.js';
import { createObject, getObject } from '../../support/kube-objects.js';
import { services } from '../../infra/services.js';
import { DEFAULTS, getPath, INVALID, VALID, validSnapshot } from '../../fixtures/kube/corpus.js';

const CRD_DIR = resolve(import.meta.dirname, '../../../knative/crds');
const run = promisify(execFile);

let kube: KubeClient;
let ns: string;

function inNs<T extends OurObject>(o: T): T {
  const c = structuredClone(o);
  c.metadata.namespace = ns;
  return c;
}

async function rejection(obj: OurObject): Promise<KubeError> {
  try {
    await createObject(kube, obj);
  } catch (e) {
    return e as KubeError;
  }
  throw new Error(`${obj.kind}/${obj.metadata.name} was accepted`);
}

beforeAll(async () => {
  const crds = await installCrds([CRD_DIR]);
  expect(crds.map((c) => c.metadata?.name).sort()).toEqual(Object.values(KINDS).map((k) => `${k.plural}.serverless.ocm.software`).sort());
  kube = new KubeClient(kubeConfig(), { fieldManager: 'test-crds' });
  ns = await createNamespace();
});

describe('CRDs in a real kube-apiserver', () => {
  it('accepts every valid example, storing exactly what admitObject computes (same defaults)', async () => {
    for (const obj of VALID) {
      const stored = await createObject(kube, inNs(obj));
      expect(stored.metadata.generation, `${obj.kind}/${obj.metadata.name}`).toBe(1);
      expect(stored.spec, `${obj.kind}/${obj.metadata.name}`).toEqual(admitObject(obj).object['spec']);
    }
    for (const [obj, path, value] of DEFAULTS) {
      const stored = await getObject(kube, obj.kind, ns, obj.metadata.name!);
      expect(getPath(stored, path), `${obj.kind}/${obj.metadata.name} ${path}`).toEqual(value);
    }
  });

  it(`rejects ${INVALID.length} invalid objects with the message a user needs, at the paths validateObject reports`, async () => {
    const table: string[] = [];
    for (const c of INVALID) {
      const err = await rejection(inNs(c.object));
      expect(err, c.title).toBeInstanceOf(InvalidError);
      expect(err.status).toBe(422);
      expect(err.message, c.title).toContain(c.message);
      // the server adds a field-less note when it skipped CEL rules of an invalid node; we skip them silently
      const serverFields = new Set(err.causes.map((x) => x.field).filter((f) => f !== undefined && f !== '<nil>'));
      const localPaths = new Set(validateObject(c.object).filter((i) => i.severity === 'error').map((i) => i.path));
      expect(serverFields, `${c.title}: ${err.message}`).toEqual(localPaths);
      table.push(`${c.title}\n    -> ${err.message}`);
    }
    console.log(`rejected by the apiserver:\n  ${table.join('\n  ')}`);
  });

  it('applies transition rules on update: Snapshot.spec.repository is immutable', async () => {
    const created = await getObject(kube, 'Snapshot', ns, validSnapshot.metadata.name!);
    const moved = structuredClone(created);
    moved.spec.repository = `${ns}/resource/elsewhere`;
    expect(validateObject(moved, { old: created }).map((i) => i.message)).toEqual(['repository is immutable (one repository per producer)']);
    let err: KubeError | undefined;
    try {
      await kube.custom.replaceNamespacedCustomObject({ group: 'serverless.ocm.software', version: 'v1alpha1', namespace: ns, plural: 'snapshots', name: moved.metadata.name!, body: moved });
    } catch (e) {
      const { toKubeError } = await import('../../../shared/kube/errors.js');
      err = toKubeError(e, 'Snapshot');
    }
    expect(err?.message).toContain('repository is immutable');
    // same repository, other digest: allowed (the producer rewrites its Snapshot)
    const rewritten = structuredClone(created);
    rewritten.spec.digest = `sha256:${'c'.repeat(64)}`;
    const ok = (await kube.custom.replaceNamespacedCustomObject({ group: 'serverless.ocm.software', version: 'v1alpha1', namespace: ns, plural: 'snapshots', name: created.metadata.name!, body: rewritten })) as OurObject;
    expect(ok.metadata.generation).toBe(2);
  });

  it('kubectl shows printer columns, short names and the ocm category', async () => {
    const kubeconfig = join(services().workDir, `kubeconfig-crds-${ns}`);
    await writeFile(kubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 't',
      clusters: [{ name: 't', cluster: { server: services().kube.server, 'certificate-authority': services().kube.caFile } }],
      users: [{ name: 't', user: { token: services().kube.token } }],
      contexts: [{ name: 't', context: { cluster: 't', user: 't', namespace: ns } }],
    }));
    const kubectl = (...args: string[]) => run(services().bin.kubectl, ['--kubeconfig', kubeconfig, ...args]).then((r) => r.stdout);
    const comps = await kubectl('get', 'ocmcomp');
    expect(comps.split('\n')[0]).toMatch(/^NAME\s+READY\s+REASON\s+VERSION\s+STATUS\s+AGE$/);
    expect(comps).toContain('podinfo');
    const all = await kubectl('get', 'ocm', '-o', 'name');
    for (const kind of ['ocmrepository', 'component', 'resource', 'configuration', 'publication', 'snapshot']) {
      expect(all, kind).toContain(`${kind}.serverless.ocm.software/`);
    }
    const snaps = await kubectl('get', 'snap', '-o', 'wide');
    expect(snaps.split('\n')[0]).toMatch(/^NAME\s+READY\s+REASON\s+DIGEST\s+REPOSITORY\s+STATUS\s+AGE$/);
  });
});

/** Values a user might put anywhere: right, wrong type, wrong format, empty. */
const VALUES: unknown[] = [
  '', 'x', 'UPPER_case', '../etc', '/abs/path', 'values.yaml', 'oci://registry.example.com/a/b', 'https://h/r', 'ghcr.io/acme',
  `sha256:${'1'.repeat(64)}`, 'sha256:short', '10m', '1h30m', '10 minutes', 'a'.repeat(300), 'Deny', 'Allow', 'OCIRegistry',
  'CommonTransportFormat', 'Resource', 'Configuration', 'ConfigMap', 'ocm.software/x', '>=1.0.0', 'extract',
  -1, 0, 1.5, 3, true, false, null, {}, [], { name: 'x' }, [{ name: 'x' }], { a: 'b' }, [{ signature: 's', value: 'v' }],
];

function paths(v: unknown, prefix: string[] = []): string[][] {
  const out: string[][] = [prefix];
  if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) out.push(...paths(c, [...prefix, k]));
  return out;
}

function mutate(obj: OurObject, path: string[], value: unknown, remove: boolean): OurObject {
  const o = structuredClone(obj) as unknown as Record<string, unknown>;
  let cur = o;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== 'object') return o as unknown as OurObject; // an earlier edit replaced the parent
    cur = next as Record<string, unknown>;
  }
  const last = path.at(-1)!;
  if (remove) delete cur[last];
  else cur[last] = structuredClone(value);
  return o as unknown as OurObject;
}

const isPlainObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
const NEW_KEYS = ['name', 'kind', 'value', 'url', 'extra', 'resource', 'type', 'path'];

/** a valid example with one or two fields replaced or removed, or keys added */
const mutation = fc.constantFrom(...VALID).chain((base) => {
  const ps = paths(base).filter((p) => p.length >= 2 && !(p[0] === 'metadata' && p[1] !== 'name'));
  const edit = fc.oneof(
    fc.record({ path: fc.constantFrom(...ps), value: fc.constantFrom(...VALUES), remove: fc.boolean() }),
    fc.record({
      path: fc
        .tuple(fc.constantFrom(['spec'], ...ps.filter((p) => p[0] === 'spec' && isPlainObject(getPath(base, p.join('.'))))), fc.constantFrom(...NEW_KEYS))
        .map(([p, k]) => [...p, k]),
      value: fc.constantFrom(...VALUES),
      remove: fc.constant(false),
    }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 2 }).map((edits) => ({
    base,
    path: edits.flatMap((e) => [e.path.join('.')]),
    obj: edits.reduce((o, e) => mutate(o, e.path, e.value, e.remove), base),
  }));
});

describe('local validation agrees with the apiserver', () => {
  it('on random mutations of the valid examples (one or two fields): same verdict, same error paths', async () => {
    const fuzzNs = await createNamespace();
    let rejected = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async ({ obj, path }) => {
        runs++;
        const target = structuredClone(obj) as OurObject;
        const meta = (target.metadata ?? {}) as OurObject['metadata'];
        if (typeof meta === 'object' && meta !== null) meta.namespace = fuzzNs;
        const local = validateObject(target).filter((i) => i.severity === 'error' && i.source !== 'semantic');
        let server: KubeError | undefined;
        let stored: OurObject | undefined;
        try {
          stored = (await kube.custom.createNamespacedCustomObject({ ...gvrOf(obj.kind), namespace: fuzzNs, body: target, dryRun: 'All', fieldValidation: 'Strict' })) as OurObject;
        } catch (e) {
          server = toKubeError(e, obj.kind);
        }
        const what = `${obj.kind} ${path.map((p) => `${p} = ${JSON.stringify(getPath(obj, p))}`).join(', ')}`;
        if (local.length === 0) {
          expect(server?.message, `${what}: accepted locally`).toBeUndefined();
          // and stored exactly as admitObject predicts (defaults, dropped nulls)
          expect(stored?.spec, what).toEqual(admitObject(target).object['spec']);
          return;
        }
        rejected++;
        expect(server, `${what}: rejected locally (${local.map((i) => `${i.path}: ${i.message}`).join('; ')}) but the apiserver accepted`).toBeDefined();
        if (server!.status === 422) {
          const serverFields = new Set(server!.causes.map((x) => x.field).filter((f) => f !== undefined && f !== '<nil>'));
          expect(serverFields, `${what}: ${server!.message}`).toEqual(new Set(local.map((i) => i.path)));
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 250) },
    );
    console.log(`random mutations: ${runs} checked against the apiserver, ${rejected} rejected by both, the rest accepted by both`);
  });
});
