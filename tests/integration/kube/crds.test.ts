/**
 * Our CRDs in a real kube-apiserver: they install, the objects in tests/unit/kube/corpus.ts are accepted
 * (with the same defaults admitObject applies) or rejected with the message a user needs, at the same
 * field paths our local validation reports: proof that the runner and the cluster agree.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { admitObject, InvalidError, KubeClient, KINDS, validateObject, type KubeError, type OurObject } from '../../../shared/kube/index.js';
import { createNamespace, installCrds, kubeConfig } from '../../infra/kube.js';
import { services } from '../../infra/services.js';
import { DEFAULTS, getPath, INVALID, VALID, validSnapshot } from '../../unit/kube/corpus.js';

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
    await kube.create(obj);
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
      const stored = await kube.create(inNs(obj));
      expect(stored.metadata.generation, `${obj.kind}/${obj.metadata.name}`).toBe(1);
      expect(stored.spec, `${obj.kind}/${obj.metadata.name}`).toEqual(admitObject(obj).object['spec']);
    }
    for (const [obj, path, value] of DEFAULTS) {
      const stored = await kube.get(obj.kind, ns, obj.metadata.name!);
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
    const created = await kube.get('Snapshot', ns, validSnapshot.metadata.name!);
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
    expect(comps.split('\n')[0]).toMatch(/^NAME\s+READY\s+REASON\s+VERSION\s+AGE$/);
    expect(comps).toContain('podinfo');
    const all = await kubectl('get', 'ocm', '-o', 'name');
    for (const kind of ['ocmrepository', 'component', 'resource', 'configuration', 'publication', 'snapshot']) {
      expect(all, kind).toContain(`${kind}.serverless.ocm.software/`);
    }
    const snaps = await kubectl('get', 'snap', '-o', 'wide');
    expect(snaps.split('\n')[0]).toMatch(/^NAME\s+READY\s+REASON\s+DIGEST\s+REPOSITORY\s+AGE$/);
  });
});
