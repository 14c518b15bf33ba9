/**
 * The admission webhook as the apiserver uses it: functions/webhook/main.ts runs as its own process
 * (config from env, HTTPS with a CA made here, reference lookups through a kubeconfig), is registered
 * with a ValidatingWebhookConfiguration (url + caBundle), and the apiserver denies or warns as designed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidError, KubeClient, toKubeError, type KubeError, type OurObject } from '../../../shared/kube/index.js';
import { createNamespace, installCrds, kubeConfig, registerValidatingWebhook } from '../../infra/kube.js';
import { makeCa, makeCert } from '../../infra/pki.js';
import { createObject, getObject } from '../../support/kube-objects.js';
import { services } from '../../infra/services.js';
import { freePort } from '../../support/free-port.js';
import { answersOk, waitFor } from '../../support/wait.js';
import { validComponent, validPublication, validRepository, validResource, WEBHOOK_DENIED, WEBHOOK_WARNED } from '../../fixtures/kube/corpus.js';

const ROOT = resolve(import.meta.dirname, '../../..');
let kube: KubeClient;
let ns: string;
let hook: ChildProcess | undefined;
let hookLog = '';
let url: string;
let agent: Agent;
let unregister: (() => Promise<void>) | undefined;

function inNs<T extends OurObject>(o: T): T {
  const c = structuredClone(o);
  c.metadata.namespace = ns;
  return c;
}

async function createWithWarnings(obj: OurObject): Promise<string[]> {
  const info = await kube.custom.createNamespacedCustomObjectWithHttpInfo({
    group: 'serverless.ocm.software', version: 'v1alpha1', namespace: ns, plural: `${obj.kind.toLowerCase()}s`.replace('ocmrepositorys', 'ocmrepositories'), body: obj,
  });
  // Warning: 299 - "<text with \" escaped>" (several headers may arrive joined with ", ")
  const w = (info.headers as Record<string, string>)['warning'] ?? '';
  return [...w.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}

async function rejection(obj: OurObject): Promise<KubeError> {
  try {
    await createObject(kube, obj);
  } catch (e) {
    return toKubeError(e, obj.kind);
  }
  throw new Error(`${obj.kind}/${obj.metadata.name} was accepted`);
}

beforeAll(async () => {
  await installCrds([join(ROOT, 'knative/crds')]);
  kube = new KubeClient(kubeConfig(), { fieldManager: 'test-webhook' });
  ns = await createNamespace();
  const dir = join(services().workDir, `webhook-${ns}`);
  const ca = await makeCa(join(dir, 'ca'), 'webhook test CA');
  const cert = await makeCert(dir, 'webhook', ca, ['IP:127.0.0.1']);
  const port = await freePort();
  url = `https://127.0.0.1:${port}`;
  agent = new Agent({ connect: { ca: await readFile(ca.certFile, 'utf8') } });

  hook = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'functions/webhook/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile, KUBECONFIG: services().kube.kubeconfig, REFERENCE_TIMEOUT: '1500ms', LOG_LEVEL: 'info', REGISTRY_URL: 'https://zot.ocm-knative-registry.svc:5000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  hook.stdout?.on('data', (d: Buffer) => (hookLog += d.toString()));
  hook.stderr?.on('data', (d: Buffer) => (hookLog += d.toString()));
  await waitFor('the webhook to become healthy', () => answersOk(`${url}/healthz`, agent), {
    timeoutMs: 30_000,
    everyMs: 200,
    giveUp: () => (hook && hook.exitCode !== null ? `it exited:\n${hookLog}` : undefined),
    explain: () => hookLog,
  });

  const probe = structuredClone(WEBHOOK_DENIED[0]!.object);
  probe.metadata = { name: 'probe', namespace: ns };
  unregister = await registerValidatingWebhook({
    name: `ocm-knative-${ns}`,
    url: `${url}/validate`,
    caBundle: await readFile(ca.certFile, 'utf8'),
    rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: ['serverless.ocm.software'], apiVersions: ['v1alpha1'], resources: ['*'], scope: 'Namespaced' }],
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
    timeoutSeconds: 5,
    calledProbe: async () => {
      try {
        await kube.custom.createNamespacedCustomObject({ group: 'serverless.ocm.software', version: 'v1alpha1', namespace: ns, plural: 'components', body: probe, dryRun: 'All' });
        return false;
      } catch (e) {
        return toKubeError(e, 'probe').message.includes('denied the request');
      }
    },
  });
}, 120_000);

afterAll(async () => {
  await unregister?.();
  hook?.kill('SIGTERM');
  await agent?.close();
});

describe('admission webhook called by the apiserver', () => {
  it(`denies ${WEBHOOK_DENIED.length} objects the CRD schema cannot judge, with the message a user needs`, async () => {
    const lines: string[] = [];
    for (const c of WEBHOOK_DENIED) {
      const err = await rejection(inNs(c.object));
      expect(err, c.title).toBeInstanceOf(InvalidError);
      expect(err.message, c.title).toContain('denied the request');
      expect(err.message, c.title).toContain(c.message);
      expect(err.message, c.title).toContain(c.path);
      lines.push(`${c.title}\n    -> ${err.message}`);
    }
    console.log(`denied by the webhook:\n  ${lines.join('\n  ')}`);
  });

  it('warns, and admits, when a referenced object does not exist yet; no warning once it does', async () => {
    for (const c of WEBHOOK_WARNED) {
      const warnings = await createWithWarnings(inNs(c.object));
      expect(warnings.join('\n'), c.title).toContain(c.message);
      expect(await kube.find(c.object.kind, ns, c.object.metadata.name!), c.title).toBeDefined();
    }
    await createObject(kube, inNs(validRepository));
    const comp = inNs(validComponent);
    comp.metadata.name = 'with-repo';
    comp.spec.verify = [{ signature: 'acme', value: 'inline-key' }];
    expect(await createWithWarnings(comp)).toEqual([]);
    const res = inNs(validResource);
    res.spec.componentRef = { name: 'with-repo' };
    expect(await createWithWarnings(res)).toEqual([]);
  });

  it('refuses objects that point the functions at forbidden places (default egress policy), naming the field', async () => {
    const apiServer = new URL(services().kube.server).host;
    const cases: [OurObject, string, string][] = [
      [{ ...inNs(validRepository), metadata: { name: 'metadata', namespace: ns }, spec: { repositorySpec: { type: 'OCIRegistry', baseUrl: 'http://169.254.169.254/latest' } } }, 'spec.repositorySpec.baseUrl', 'link-local'],
      [{ ...inNs(validRepository), metadata: { name: 'apiserver', namespace: ns }, spec: { repositorySpec: { type: 'OCIRegistry', baseUrl: `https://${apiServer}/api` } } }, 'spec.repositorySpec.baseUrl', 'the Kubernetes API server'],
      [{ ...inNs(validRepository), metadata: { name: 'in-pod', namespace: ns }, spec: { repositorySpec: { type: 'CommonTransportFormat', filePath: '/var/run/secrets/kubernetes.io/serviceaccount' } } }, 'spec.repositorySpec.filePath', 'no CTF_ROOT'],
      [{ ...inNs(validPublication), metadata: { name: 'other-tenant', namespace: ns }, spec: { ...validPublication.spec, target: { url: 'oci://zot.ocm-knative-registry.svc:5000/tenant-b/x' } } } as OurObject, 'spec.target.url', 'the internal registry'],
    ];
    for (const [obj, field, why] of cases) {
      const err = await rejection(obj);
      expect(err, obj.metadata.name).toBeInstanceOf(InvalidError);
      expect(err.message, obj.metadata.name).toContain('denied the request');
      expect(err.message, obj.metadata.name).toContain(`${field}: `);
      expect(err.message, obj.metadata.name).toContain(why);
    }
  });

  it('checks updates too, and leaves status writes alone', async () => {
    const comp = await getObject(kube, 'Component', ns, 'with-repo');
    const bad = structuredClone(comp);
    bad.spec.semver = 'whenever';
    const err = await kube.custom
      .replaceNamespacedCustomObject({ group: 'serverless.ocm.software', version: 'v1alpha1', namespace: ns, plural: 'components', name: 'with-repo', body: bad })
      .catch((e: unknown) => toKubeError(e, 'Component'));
    expect((err as KubeError).message).toContain('is not a valid semver constraint');
    const updated = await kube.updateStatus('Component', ns, 'with-repo', () => ({ observedGeneration: 1 }));
    expect(updated.status?.observedGeneration).toBe(1);
  });

  it('answers fast: a create through the webhook (with reference lookups) stays well under its timeout', async () => {
    const t0 = performance.now();
    const c = inNs(validComponent);
    c.metadata.name = 'timed';
    await createWithWarnings(c);
    const ms = performance.now() - t0;
    console.log(`create through the webhook: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(2000);
  });

  it('over HTTPS: malformed reviews get 400 and the process keeps serving', async () => {
    for (const body of ['{oops', JSON.stringify({ kind: 'AdmissionReview' })]) {
      const r = await request(`${url}/validate`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
      expect(r.statusCode).toBe(400);
      expect(((await r.body.json()) as { message: string }).message).toMatch(/AdmissionReview/);
    }
    expect(hook?.exitCode).toBeNull();
    expect(hookLog).toContain('admission webhook listening');
  });
});
