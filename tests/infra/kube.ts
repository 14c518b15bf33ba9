/**
 * Helpers for tests that talk to the real kube-apiserver started by global-setup: a client config,
 * CRD installation (waits for Established), namespaces, ServiceAccount tokens, and validating webhooks
 * registered by URL (waits until the apiserver actually calls them).
 */
import {
  AdmissionregistrationV1Api,
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  loadAllYaml,
  type V1CustomResourceDefinition,
  type V1RuleWithOperations,
  type V1ValidatingWebhook,
} from '@kubernetes/client-node';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../support/wait.js';
import { repoRoot } from './binaries.js';
import { services } from './services.js';
import type { Services } from './services.js';

/** Our own CRDs. */
export const ourCrdsDir = join(repoRoot, 'knative', 'crds');

export class KubeHelperError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeHelperError';
  }
}

/** A KubeConfig for the admin user (system:masters), or for `token` when given (e.g. a minted SA token). */
export function kubeConfig(opts: { token?: string; kube?: Services['kube'] } = {}): KubeConfig {
  const kube = opts.kube ?? services().kube;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: kube.server, caFile: kube.caFile, skipTLSVerify: false }],
    users: [{ name: 'user', token: opts.token ?? kube.token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'user', namespace: 'default' }],
    currentContext: 'test',
  });
  return kc;
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

async function yamlFiles(path: string): Promise<string[]> {
  const s = await stat(path);
  if (!s.isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of (await readdir(path)).sort()) {
    if (/\.ya?ml$/.test(entry) || (await stat(join(path, entry))).isDirectory()) out.push(...(await yamlFiles(join(path, entry))));
  }
  return out;
}

/**
 * Every CRD document in the given files/directories (recursively); other kinds are ignored.
 * Parsed with client-node's loadAllYaml, which maps wire names to model names: the model calls
 * `x-kubernetes-validations` `x_kubernetes_validations`, and serializing a raw YAML object would silently
 * drop such keys (and CEL rules with them).
 */
export async function loadCrds(paths: string[]): Promise<V1CustomResourceDefinition[]> {
  const crds: V1CustomResourceDefinition[] = [];
  for (const p of paths) {
    for (const file of await yamlFiles(p)) {
      let docs: unknown[];
      try {
        docs = loadAllYaml(await readFile(file, 'utf8'));
      } catch (err) {
        throw new KubeHelperError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      for (const obj of docs) {
        if ((obj as { kind?: string } | null)?.kind === 'CustomResourceDefinition') crds.push(obj as V1CustomResourceDefinition);
      }
    }
  }
  return crds;
}

/**
 * Creates (or replaces) CRDs and waits until each is Established, so the next request for the new kind
 * does not 404. Accepts file/directory paths (YAML, multi-document) and/or CRD objects in client-node
 * model form (x_kubernetes_validations etc.; see loadCrds).
 */
export async function installCrds(
  items: (string | V1CustomResourceDefinition)[],
  opts: { kc?: KubeConfig; timeoutMs?: number } = {},
): Promise<V1CustomResourceDefinition[]> {
  const api = (opts.kc ?? kubeConfig()).makeApiClient(ApiextensionsV1Api);
  const crds = [
    ...items.filter((i): i is V1CustomResourceDefinition => typeof i !== 'string'),
    ...(await loadCrds(items.filter((i): i is string => typeof i === 'string'))),
  ];
  await Promise.all(
    crds.map(async (crd) => {
      const name = crd.metadata?.name;
      if (!name) throw new KubeHelperError('a CRD without metadata.name cannot be installed');
      try {
        await api.createCustomResourceDefinition({ body: crd });
      } catch (err) {
        if (!isStatus(err, 409)) throw err;
        const current = await api.readCustomResourceDefinition({ name });
        await api.replaceCustomResourceDefinition({
          name,
          body: { ...crd, metadata: { ...crd.metadata, resourceVersion: current.metadata?.resourceVersion } },
        });
      }
    }),
  );
  return Promise.all(
    crds.map((crd) =>
      waitFor(
        `CRD ${crd.metadata?.name ?? ''} to be Established`,
        async () => {
          const cur = await api.readCustomResourceDefinition({ name: crd.metadata?.name ?? '' });
          const established = cur.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
          return established ? cur : undefined;
        },
        opts.timeoutMs ?? 30_000,
      ),
    ),
  );
}

/** Creates a namespace (a fresh unique one when `name` is omitted) and returns its name. Idempotent. */
export async function createNamespace(name?: string, opts: { kc?: KubeConfig } = {}): Promise<string> {
  const ns = name ?? `t-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  const api = (opts.kc ?? kubeConfig()).makeApiClient(CoreV1Api);
  try {
    await api.createNamespace({ body: { metadata: { name: ns } } });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
  return ns;
}

/**
 * A bearer token for namespace/serviceAccount via the TokenRequest API. The ServiceAccount is created if
 * missing (there is no kube-controller-manager to make the `default` ones).
 */
export async function mintToken(
  namespace: string,
  serviceAccount: string,
  opts: { kc?: KubeConfig; expirationSeconds?: number; audiences?: string[] } = {},
): Promise<string> {
  const api = (opts.kc ?? kubeConfig()).makeApiClient(CoreV1Api);
  await createNamespace(namespace, { kc: opts.kc });
  try {
    await api.createNamespacedServiceAccount({ namespace, body: { metadata: { name: serviceAccount } } });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
  const tr = await api.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { expirationSeconds: opts.expirationSeconds ?? 3600, audiences: opts.audiences ?? [] } },
  });
  const token = tr.status?.token;
  if (!token) throw new KubeHelperError(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
  return token;
}

export interface WebhookRegistration {
  /** name of the ValidatingWebhookConfiguration (also the webhook name when it has no dot) */
  name: string;
  /** https URL the apiserver calls */
  url: string;
  /** PEM of the CA that signed the webhook's serving cert */
  caBundle: string;
  rules: V1RuleWithOperations[];
  failurePolicy?: 'Fail' | 'Ignore';
  namespaceSelector?: V1ValidatingWebhook['namespaceSelector'];
  objectSelector?: V1ValidatingWebhook['objectSelector'];
  timeoutSeconds?: number;
  /**
   * Resolves once the apiserver's webhook informer has picked the configuration up, e.g. by creating an
   * object the webhook sees and checking that the webhook was called. Polled until it returns true.
   */
  calledProbe: () => Promise<boolean>;
  kc?: KubeConfig;
  timeoutMs?: number;
}

/**
 * Registers a ValidatingWebhookConfiguration by URL + caBundle and waits until `calledProbe` sees the
 * apiserver call it (registration is picked up asynchronously). Returns a function that deletes it.
 */
export async function registerValidatingWebhook(reg: WebhookRegistration): Promise<() => Promise<void>> {
  const api = (reg.kc ?? kubeConfig()).makeApiClient(AdmissionregistrationV1Api);
  const webhookName = reg.name.includes('.') ? reg.name : `${reg.name}.test.ocm.software`;
  const body = {
    metadata: { name: reg.name },
    webhooks: [
      {
        name: webhookName,
        clientConfig: { url: reg.url, caBundle: Buffer.from(reg.caBundle).toString('base64') },
        rules: reg.rules,
        failurePolicy: reg.failurePolicy ?? 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: reg.timeoutSeconds ?? 10,
        namespaceSelector: reg.namespaceSelector,
        objectSelector: reg.objectSelector,
      },
    ],
  };
  try {
    await api.createValidatingWebhookConfiguration({ body });
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    const cur = await api.readValidatingWebhookConfiguration({ name: reg.name });
    await api.replaceValidatingWebhookConfiguration({
      name: reg.name,
      body: { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata?.resourceVersion } },
    });
  }
  await waitFor(`the apiserver to call webhook ${reg.name} (${reg.url})`, () => reg.calledProbe(), reg.timeoutMs ?? 30_000);
  return async () => {
    try {
      await api.deleteValidatingWebhookConfiguration({ name: reg.name });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
  };
}
