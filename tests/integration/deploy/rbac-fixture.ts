/**
 * Installs the RBAC we ship (knative/rbac + the tenant bindings from knative/tenant) into the test
 * API server exactly as rendered by kustomize, and mints a TokenRequest token per function
 * ServiceAccount. Other integration/e2e tests can run the functions with these tokens to prove the
 * shipped Roles are enough (`functionKubeConfig('publish')`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { installCrds, kubeConfig, mintToken } from '../../infra/kube.js';
import { services } from '../../infra/services.js';
import { upstreamCrdFiles } from '../../infra/upstream-crds.js';
import { kubectl, render, repoRoot, type K8sObject } from './manifests.js';

export const SYSTEM_NAMESPACE = 'ocm-knative-system';
/** The namespace knative/tenant opts in (kustomization `namespace:`). */
export const TENANT_NAMESPACE = 'ocm-tenant';

export const IDENTITIES = ['descriptor', 'resource', 'configure', 'publish', 'webhook', 'apiserversource'] as const;
export type Identity = (typeof IDENTITIES)[number];

const RBAC_KINDS = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

let installed: Promise<void> | undefined;

async function apply(objects: K8sObject[]): Promise<void> {
  const r = await kubectl(
    services().kube.kubeconfig,
    ['apply', '--server-side', '--field-manager=ocm-knative-rbac-fixture', '--force-conflicts', '-f', '-'],
    objects.map((o) => stringify(o)).join('---\n'),
  );
  if (r.code !== 0) throw new Error(`applying the shipped RBAC failed: ${r.stderr}`);
}

/**
 * Our CRDs + the Flux OCIRepository CRD, then the shipped Namespace/ServiceAccounts/ClusterRoles/
 * bindings (knative/) and tenant RoleBindings (knative/tenant/), created for real. Idempotent; once per file.
 */
export function installShippedRbac(): Promise<void> {
  installed ??= (async () => {
    await installCrds([join(repoRoot, 'knative/crds'), ...upstreamCrdFiles('source.toolkit.fluxcd.io')]);
    const system = (await render('knative')).objects.filter((o) => RBAC_KINDS.has(o.kind));
    const tenant = (await render('knative/tenant')).objects.filter((o) => RBAC_KINDS.has(o.kind));
    await apply([...system, ...tenant]);
  })();
  return installed;
}

export function serviceAccountOf(id: Identity): string {
  return `ocm-knative-${id}`;
}

/** A KubeConfig authenticating as the function's ServiceAccount with a freshly minted token. */
export async function functionKubeConfig(id: Identity): Promise<KubeConfig> {
  await installShippedRbac();
  const token = await mintToken(SYSTEM_NAMESPACE, serviceAccountOf(id), { expirationSeconds: 3600 });
  return kubeConfig({ token });
}

/**
 * Opts `namespace` in exactly as knative/tenant does (label + RoleBindings), with the kustomization's
 * namespace swapped, as `kustomize edit set namespace` would.
 */
export async function installTenant(namespace: string): Promise<void> {
  await installShippedRbac();
  const objects = (await render('knative/tenant')).objects
    .filter((o) => RBAC_KINDS.has(o.kind))
    .map((o) => {
      const c = structuredClone(o);
      if (c.kind === 'Namespace') c.metadata.name = namespace;
      else c.metadata.namespace = namespace;
      return c;
    });
  await apply(objects);
}

/** A kubeconfig file authenticating as the function (TokenRequest token), for processes that take KUBECONFIG. */
export async function functionKubeconfigFile(id: Identity): Promise<string> {
  await installShippedRbac();
  const kube = services().kube;
  const token = await mintToken(SYSTEM_NAMESPACE, serviceAccountOf(id), { expirationSeconds: 3600 });
  const file = join(services().workDir, `kubeconfig-${id}-${Date.now().toString(36)}`);
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: kube.server, 'certificate-authority': kube.caFile } }],
      users: [{ name: serviceAccountOf(id), user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: serviceAccountOf(id) } }],
      'current-context': 'test',
    }),
    { mode: 0o600 },
  );
  return file;
}
