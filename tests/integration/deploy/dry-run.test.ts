/**
 * Every manifest we ship (knative/, registry/, and their secret/tenant templates) passes server-side
 * dry-run against the real kube-apiserver with the upstream Knative and Flux CRDs installed, with
 * strict field validation, so a misspelt field or a wrong type in a Knative/Flux object fails here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { installCrds } from '../../infra/kube.js';
import { services } from '../../infra/services.js';
import { upstreamCrdFiles } from '../../infra/upstream-crds.js';
import { byKind, kubectl, KUSTOMIZATIONS, render, type K8sObject } from './manifests.js';

const FIELD_MANAGER = 'ocm-knative-deploy-test';

async function dryRun(kubeconfig: string, yaml: string) {
  return kubectl(kubeconfig, ['apply', '--server-side', '--dry-run=server', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-f', '-'], yaml);
}

async function applyForReal(kubeconfig: string, objects: K8sObject[]) {
  const r = await kubectl(kubeconfig, ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
}

describe('server-side dry-run of the shipped manifests (upstream Knative + Flux CRDs installed)', () => {
  let kubeconfig: string;

  beforeAll(async () => {
    kubeconfig = services().kube.kubeconfig;
    const crds = await installCrds(upstreamCrdFiles());
    expect(crds.map((c) => c.metadata?.name)).toEqual(
      expect.arrayContaining(['services.serving.knative.dev', 'triggers.eventing.knative.dev', 'ocirepositories.source.toolkit.fluxcd.io']),
    );
    // Namespaced objects cannot be dry-run into a namespace that does not exist: create those for real.
    const namespaces = (await Promise.all(KUSTOMIZATIONS.map(render))).flatMap((r) => byKind(r.objects, 'Namespace'));
    await applyForReal(kubeconfig, namespaces);
  });

  for (const dir of KUSTOMIZATIONS) {
    it(`${dir}/ passes`, async () => {
      const { yaml, objects } = await render(dir);
      expect(objects.length).toBeGreaterThan(0);
      const r = await dryRun(kubeconfig, yaml);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(objects.length);
      for (const l of lines) expect(l).toMatch(/serverside-applied \(server dry run\)$/);
      // No warnings either: e.g. PodSecurity "restricted" (our namespaces enforce it) would warn here.
      // The one expected warning: the Secret templates hold placeholders, not PEM, until filled in.
      const warnings = r.stderr
        .split('\n')
        .filter((l) => /warning/i.test(l))
        .filter((l) => !(dir.endsWith('/secrets') && /tls: failed to find any PEM data/.test(l)));
      expect(warnings).toEqual([]);
    });
  }

  it('the whole knative/ stack includes every upstream kind we depend on', async () => {
    const { objects } = await render('knative');
    const kinds = new Set(objects.map((o) => `${o.apiVersion}/${o.kind}`));
    for (const k of [
      'serving.knative.dev/v1/Service',
      'eventing.knative.dev/v1/Broker',
      'eventing.knative.dev/v1/Trigger',
      'sources.knative.dev/v1/ApiServerSource',
      'sources.knative.dev/v1/PingSource',
      'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration',
      'apiextensions.k8s.io/v1/CustomResourceDefinition',
    ]) {
      expect(kinds, k).toContain(k);
    }
  });

  // Negative controls: prove the dry-run really validates against the upstream schemas (a test that
  // cannot fail proves nothing).
  // Knative's Trigger CRD preserves unknown fields under spec.delivery (for alpha delivery options), so
  // a misspelt delivery key cannot be caught by the API server; policy.test.ts checks those keys.
  // Typed fields still are validated:
  it('rejects a wrongly typed Trigger retry count (validated against the Knative CRD)', async () => {
    const { objects } = await render('knative');
    const trigger = structuredClone(byKind(objects, 'Trigger')[0]!) as K8sObject & { spec: { delivery: Record<string, unknown> } };
    trigger.spec.delivery.retry = 'five';
    const r = await dryRun(kubeconfig, stringify(trigger));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.delivery\.retry/);
  });

  it('rejects a misspelt Knative Service container field (strict field validation)', async () => {
    const { objects } = await render('knative');
    const svc = structuredClone(byKind(objects, 'Service', 'serving.knative.dev/v1')[0]!) as K8sObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    svc.spec.template.spec.containers[0]!.readinesProbe = { httpGet: { path: '/readyz' } };
    const r = await dryRun(kubeconfig, stringify(svc));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/readinesProbe: field not declared in schema/);
  });

  it('rejects a Knative Service with a wrongly typed timeoutSeconds', async () => {
    const { objects } = await render('knative');
    const svc = structuredClone(byKind(objects, 'Service', 'serving.knative.dev/v1')[0]!) as K8sObject & {
      spec: { template: { spec: Record<string, unknown> } };
    };
    svc.spec.template.spec.timeoutSeconds = 'ten minutes';
    const r = await dryRun(kubeconfig, stringify(svc));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/timeoutSeconds/);
  });

  it('warns when a workload would break the namespaces\' PodSecurity "restricted" level', async () => {
    const { objects } = await render('registry');
    const dep = structuredClone(byKind(objects, 'Deployment')[0]!) as K8sObject & {
      spec: { template: { spec: { securityContext?: unknown; containers: { securityContext?: unknown }[] } } };
    };
    delete dep.spec.template.spec.securityContext;
    for (const c of dep.spec.template.spec.containers) delete c.securityContext;
    const r = await dryRun(kubeconfig, stringify(dep));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/would violate PodSecurity "restricted/);
  });

  it('rejects a Flux OCIRepository whose url is not oci:// (the Flux CRD is really installed)', async () => {
    const bad = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: { name: 'dry-run-probe', namespace: 'ocm-tenant' },
      spec: { url: 'https://example.com/x', interval: '10m' },
    };
    const r = await dryRun(kubeconfig, stringify(bad));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.url/);
  });
});
