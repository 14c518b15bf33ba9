/**
 * Flux in the loop (issue 15): the real source-, kustomize- and helm-controller (tests/infra/flux.ts) consume what
 * the real stage functions publish into the pipeline's registry (zot with the shipped config: TLS, htpasswd, access
 * control), in a tenant namespace set up as knative/tenant/ describes, with the Secrets the publish stage names
 * (Flux reads as that tenant's read-only zot user, which `ocm-knative tenant add` makes). The file runs its own
 * zot (startZot, the shipped config on the run's S3 store) whose tenant is this file's own namespace: the shared
 * zot's tenant namespace (ZOT_TENANT) is used by the integration tier, which runs at the same time.
 * - the OCIRepository is Ready in source-controller, its artifact is our Snapshot, and its cosign signature (ours,
 *   from the publish stage's signing key) is verified (SourceVerified=True);
 * - a Kustomization applies the configured manifests (substituted value, localized image);
 * - a HelmRelease (chartRef to the OCIRepository) installs the configured chart with our values;
 * - a new component version reaches the cluster;
 * - our manifest deleted and its tag given to a manifest signed by another key: Flux refuses it once the
 *   OCIRepository points there (Ready=False, SourceVerified=False), and our resync puts manifest, tag and
 *   OCIRepository back;
 * - `flux suspend` on our OCIRepository survives our next apply, and Flux takes the new digest on resume.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, CosignSigner, MediaType, pushCosignSignature, RegistryClient, signatureTag } from '../../../shared/oci/index.js';
import type { KubeObject, OCIRepositoryObject, SnapshotObject } from '../../../shared/ports/index.js';
import { installFluxCrds, startFlux, type RunningFlux } from '../../infra/flux.js';
import { services } from '../../infra/services.js';
import { goTool } from '../../infra/binaries.js';
import { startZot, type RunningZot } from '../../infra/zot.js';
import { PULL_SECRET, pullSecret } from '../../../functions/runner/tenant.js';
import { COMPONENT, componentVersion } from '../../support/components.js';
import { sha256 } from '../../support/digest.js';
import { MANIFESTS_RULES, PODINFO_CHART_RULES } from '../../support/podinfo.js';
import { isReadyNow } from '../../support/ready.js';
import { packed } from '../../support/tar.js';
import { waitFor } from '../../support/wait.js';
import { startPipeline, type Pipeline } from '../stages/env.js';

const IMAGE = 'ghcr.io/stefanprodan/podinfo:6.1.0';

/** the parts of source-controller's OCIRepository status we check */
interface FluxSourceStatus {
  artifact?: { revision?: string; digest?: string };
  lastHandledReconcileAt?: string;
  observedGeneration?: number;
}
const fluxStatus = (obj: KubeObject | undefined): FluxSourceStatus => (obj?.status ?? {}) as FluxSourceStatus;
const LONG = 240_000;
/** the Secret names of knative/tenant/flux-secrets.yaml, and the default FLUX_VERIFY_SECRET */
const CA_SECRET = 'ocm-knative-registry-ca';
const VERIFY_SECRET = 'ocm-knative-cosign-pub';

function manifests(version: string): Promise<Buffer> {
  return packed([
    { path: 'kustomization.yaml', type: 'file', content: 'resources:\n  - configmap.yaml\n  - deployment.yaml\n' },
    { path: 'configmap.yaml', type: 'file', content: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  version: "${version}"\n  color: blue\n` },
    {
      path: 'deployment.yaml',
      type: 'file',
      content:
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: app}\n' +
        '  template:\n    metadata:\n      labels: {app: app}\n    spec:\n      containers:\n        - name: app\n          image: example.invalid/placeholder:0\n',
    },
  ]);
}

/** A chart whose one template is a ConfigMap, so a release needs no running pods to be complete. */
function chart(version: string): Promise<Buffer> {
  return packed([
    { path: 'podinfo', type: 'directory' },
    { path: 'podinfo/Chart.yaml', type: 'file', content: `apiVersion: v2\nname: podinfo\nversion: ${version}\nappVersion: "${version}"\n` },
    { path: 'podinfo/values.yaml', type: 'file', content: 'replicaCount: 1\nimage:\n  repository: example.invalid/placeholder\n  tag: "0"\n' },
    { path: 'podinfo/templates', type: 'directory' },
    {
      path: 'podinfo/templates/values.yaml',
      type: 'file',
      content:
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-values\ndata:\n  replicas: "{{ .Values.replicaCount }}"\n' +
        '  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n  chartVersion: "{{ .Chart.Version }}"\n',
    },
  ]);
}

/** what helm-controller appends to the version of a chart from an OCIRepository: `+` and this */
const shortDigest = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

/** this file's zot (see the header) */
let zot: RunningZot;

/** zot as the functions' identity: someone with write access changing the registry behind our back */
function pushClient(): RegistryClient {
  const z = zot.endpoint;
  return new RegistryClient({ url: z.url, caFile: z.caFile, credentials: z.push });
}

function condition(obj: KubeObject | undefined, type: string): { status?: string; reason?: string; message?: string; observedGeneration?: number } {
  const c = obj?.status?.conditions?.find((x) => x.type === type);
  return { status: c?.status, reason: c?.reason, message: c?.message, observedGeneration: c?.observedGeneration };
}

describe('e2e: Flux in the loop (real source-, kustomize- and helm-controller)', () => {
  let p: Pipeline;
  let flux: RunningFlux;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  const signer = new CosignSigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

  const fluxObject = (group: string, version: string, plural: string) => ({
    get: async (name: string): Promise<KubeObject | undefined> => {
      try {
        return (await custom.getNamespacedCustomObject({ group, version, namespace: p.namespace, plural, name })) as KubeObject;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    },
    create: async (name: string, spec: Record<string, unknown>) =>
      custom.createNamespacedCustomObject({
        group,
        version,
        namespace: p.namespace,
        plural,
        body: { apiVersion: `${group}/${version}`, kind: { ocirepositories: 'OCIRepository', kustomizations: 'Kustomization', helmreleases: 'HelmRelease' }[plural], metadata: { name }, spec },
      }),
    /** what `flux reconcile` does: a new reconcile.fluxcd.io/requestedAt value; resolves to that value */
    requestReconcile: async (name: string): Promise<string> => {
      const at = new Date().toISOString();
      await custom.patchNamespacedCustomObject(
        { group, version, namespace: p.namespace, plural, name, body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': at } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return at;
    },
  });
  const ociRepos = () => fluxObject('source.toolkit.fluxcd.io', 'v1', 'ocirepositories');
  const kustomizations = () => fluxObject('kustomize.toolkit.fluxcd.io', 'v1', 'kustomizations');
  const helmReleases = () => fluxObject('helm.toolkit.fluxcd.io', 'v2', 'helmreleases');

  const configMap = async (name: string): Promise<V1ConfigMap | undefined> => {
    try {
      return await core.readNamespacedConfigMap({ namespace: p.namespace, name });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };

  /** The OCIRepository once source-controller has reconciled its current generation and says Ready=True. */
  const fluxReady = async (name: string, digest?: string): Promise<OCIRepositoryObject> =>
    waitFor(
      `source-controller to report OCIRepository ${name} Ready${digest ? ` at ${digest}` : ''}`,
      async () => {
        const r = (await ociRepos().get(name)) as OCIRepositoryObject | undefined;
        if (!r || !isReadyNow(r)) return undefined;
        return !digest || fluxStatus(r).artifact?.revision?.endsWith(digest) ? r : undefined;
      },
      LONG,
    );

  beforeAll(async () => {
    const s = services();
    const namespace = `flux-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    // the tenant read user zot gets from `ocm-knative tenant add` reads <namespace>/** only; Flux reads with it
    zot = await startZot({ bin: goTool('zot'), workDir: s.workDir, ca: s.ca, s3: s.s3, name: `zot-${namespace}`, rootDirectory: `/zot-${namespace}`, tenant: namespace });
    const z = zot.endpoint;
    p = await startPipeline({
      namespace,
      config: {
        REGISTRY_URL: z.url,
        REGISTRY_CA_FILE: z.caFile,
        REGISTRY_USERNAME: z.push.username,
        REGISTRY_PASSWORD: z.push.password,
        FLUX_INSECURE: false,
        FLUX_CERT_SECRET: CA_SECRET,
        FLUX_SECRET: PULL_SECRET,
      },
      signing: { signer, verifySecretRef: VERIFY_SECRET },
    });
    core = p.kc.makeApiClient(CoreV1Api);
    custom = p.kc.makeApiClient(CustomObjectsApi);
    await installFluxCrds(p.kc);
    // the tenant Secrets knative/tenant/flux-secrets.yaml describes, plus the public key for spec.verify
    const secrets: V1Secret[] = [
      { metadata: { name: CA_SECRET }, type: 'Opaque', stringData: { 'ca.crt': await readFile(z.caFile, 'utf8') } },
      parseYaml(pullSecret(namespace, z.host, z.read.username, z.read.password)) as V1Secret,
      { metadata: { name: VERIFY_SECRET }, type: 'Opaque', stringData: { 'cosign.pub': signer.publicKeyPem } },
    ];
    for (const body of secrets) await core.createNamespacedSecret({ namespace: p.namespace, body });
    flux = await startFlux({ namespace: p.namespace, kubeconfig: s.kube.kubeconfig, workDir: s.workDir, log: (l) => console.log(l) });

    await p.pushSource(await componentVersion({ version: '1.0.0', image: { reference: IMAGE }, manifests: await manifests('1.0.0'), chart: await chart('1.0.0') }));
    await p.create('OCMRepository', 'source', { repositorySpec: { type: 'OCIRegistry', baseUrl: p.sourceBaseUrl } });
    await p.create('Component', 'app', { repositoryRef: { name: 'source' }, component: COMPONENT, semver: '>=1.0.0' });
    for (const name of ['manifests', 'chart']) {
      await p.create('Resource', name, { componentRef: { name: 'app' }, resource: { byReference: { resource: { name } } } });
    }
    await p.create('Configuration', 'manifests', {
      target: { kind: 'Resource', name: 'manifests' },
      rules: MANIFESTS_RULES,
    });
    await p.create('Configuration', 'chart', {
      target: { kind: 'Resource', name: 'chart' },
      rules: PODINFO_CHART_RULES,
    });
    for (const name of ['manifests', 'chart']) await p.create('Publication', name, { source: { kind: 'Configuration', name } });
  }, 600_000);

  afterAll(async () => {
    await flux?.stop();
    await p?.stop();
    await zot?.stop();
  });

  it('source-controller takes our OCIRepository: Ready, artifact = our Snapshot, signature verified', async () => {
    for (const name of ['manifests', 'chart']) {
      await waitFor(`Publication ${name}`, async () => isReadyNow(await p.get('Publication', name)), LONG);
      const snap = (await p.get('Snapshot', `configuration-${name}`)) as SnapshotObject;
      const repo = await fluxReady(name, snap.spec!.digest);
      expect(repo.spec).toMatchObject({
        url: `oci://${zot.endpoint.host}/${snap.spec!.repository}`,
        ref: { digest: snap.spec!.digest },
        certSecretRef: { name: CA_SECRET },
        secretRef: { name: PULL_SECRET },
        verify: { provider: 'cosign', secretRef: { name: VERIFY_SECRET } },
      });
      expect(repo.spec!.insecure).toBeUndefined();
      // pinned by digest, the revision is the manifest digest itself
      expect(fluxStatus(repo).artifact?.revision).toBe(snap.spec!.digest);
      expect(condition(repo, 'SourceVerified')).toMatchObject({ status: 'True' });
      if (name === 'chart') {
        // operation copy: Flux's artifact is our layer, byte for byte
        expect(fluxStatus(repo).artifact?.digest).toBe(snap.spec!.blob.digest);
      }
    }
  });

  it('a Kustomization applies the configured manifests: substituted value and localized image', async () => {
    await kustomizations().create('manifests', {
      interval: '10m',
      sourceRef: { kind: 'OCIRepository', name: 'manifests' },
      path: './',
      prune: true,
      targetNamespace: p.namespace,
    });
    const cm = await waitFor('kustomize-controller to apply ConfigMap app', () => configMap('app'), LONG);
    expect(cm.data).toEqual({ version: '1.0.0', color: 'green' });
    const apps = p.kc.makeApiClient(AppsV1Api);
    const deploy = await apps.readNamespacedDeployment({ namespace: p.namespace, name: 'app' });
    expect(deploy.spec?.template.spec?.containers[0]?.image).toBe(IMAGE);
    expect(deploy.metadata?.labels?.['kustomize.toolkit.fluxcd.io/name']).toBe('manifests');
    const k = await waitFor('Kustomization Ready', async () => {
      const o = await kustomizations().get('manifests');
      return isReadyNow(o) ? o : undefined;
    }, LONG);
    const snap = (await p.get('Snapshot', 'configuration-manifests')) as SnapshotObject;
    expect((k.status as { lastAppliedRevision?: string }).lastAppliedRevision).toBe(snap.spec!.digest);
  });

  it('a HelmRelease with chartRef to our OCIRepository installs the configured chart with our values', async () => {
    await helmReleases().create('podinfo', {
      interval: '10m',
      chartRef: { kind: 'OCIRepository', name: 'chart' },
      install: { disableWait: true },
      upgrade: { disableWait: true },
    });
    const cm = await waitFor('helm-controller to install release podinfo', () => configMap('podinfo-values'), LONG);
    // Found by running helm-controller: a chart from an OCIRepository pinned by digest is installed with the first 12
    // hex digits of the manifest digest as semver build metadata on its version
    const snap = (await p.get('Snapshot', 'configuration-chart')) as SnapshotObject;
    expect(cm.data).toEqual({ replicas: '3', image: IMAGE, chartVersion: `1.0.0+${shortDigest(snap.spec!.digest)}` });
    const secrets = await core.listNamespacedSecret({ namespace: p.namespace, labelSelector: 'owner=helm,name=podinfo' });
    expect(secrets.items.map((x) => x.metadata?.name)).toContain('sh.helm.release.v1.podinfo.v1');
  });

  it('content changed in the registry behind our back: Flux refuses what we did not sign, our resync puts ours back', async () => {
    const snap = (await p.get('Snapshot', 'configuration-manifests')) as SnapshotObject;
    const ours = snap.spec!.digest;
    const client = pushClient();
    const repo = client.repository(snap.spec!.repository);
    const intruder = new CosignSigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    let theirs: string;
    try {
      // 1. our manifest is deleted and another one (other layer) takes its tag, signed by another key
      const layer = await manifests('9.9.9');
      const empty = Buffer.from('{}');
      await repo.blobs.push({ digest: sha256(layer), size: layer.length }, bufferSource(layer));
      await repo.blobs.push({ digest: sha256(empty), size: empty.length }, bufferSource(empty));
      expect(await repo.manifests.delete(ours)).toBe(true);
      const manifest = {
        schemaVersion: 2,
        mediaType: MediaType.ImageManifest,
        config: { mediaType: MediaType.Empty, digest: sha256(empty), size: empty.length },
        layers: [{ mediaType: snap.spec!.blob.mediaType, digest: sha256(layer), size: layer.length }],
      };
      theirs = (await repo.manifests.push(Buffer.from(JSON.stringify(manifest)), MediaType.ImageManifest, snap.spec!.tag)).digest;
      await pushCosignSignature(repo, `${zot.endpoint.host}/${snap.spec!.repository}`, theirs, intruder);
    } finally {
      await client.close();
    }
    // Found by running source-controller: pinned by digest, it never asks the registry again for a revision it
    // already stored, so a registry changed behind our back goes unseen (and harmless) until the spec changes
    const at = await ociRepos().requestReconcile('manifests');
    const handled = await waitFor('source-controller to handle the reconcile request', async () => {
      const r = await ociRepos().get('manifests');
      return fluxStatus(r).lastHandledReconcileAt === at ? r : undefined;
    }, LONG);
    expect(condition(handled, 'Ready').status).toBe('True');

    // 2. someone points the OCIRepository at their manifest: Flux checks its signature against our key and refuses it
    await custom.patchNamespacedCustomObject(
      { group: 'source.toolkit.fluxcd.io', version: 'v1', namespace: p.namespace, plural: 'ocirepositories', name: 'manifests', body: { spec: { ref: { digest: theirs } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const refused = await waitFor('source-controller to refuse the foreign signature', async () => {
      const r = await ociRepos().get('manifests');
      // Found by running source-controller: status.observedGeneration moves only on a successful reconcile; a
      // failed one shows in its conditions' observedGeneration. Mid-reconcile it writes SourceVerified=False with
      // Ready=Unknown first, so both are waited for.
      const verified = condition(r, 'SourceVerified');
      const ready = condition(r, 'Ready');
      const current = (c: { observedGeneration?: number }) => c.observedGeneration === r?.metadata.generation;
      return r && current(verified) && verified.status === 'False' && current(ready) && ready.status === 'False' ? r : undefined;
    }, LONG);
    expect(condition(refused, 'Ready').reason).toBe('VerificationError');
    console.log(`Flux on a foreign signature: ${condition(refused, 'SourceVerified').reason}: ${condition(refused, 'SourceVerified').message}`);

    // 3. resync ticks: configure pushes our manifest again, publish puts the OCIRepository back and asks Flux to look.
    // Found by running source-controller: back at a revision it still has in storage, Flux is Ready again (the
    // signature is checked, the manifest is not fetched), so our manifest being back is waited for on its own.
    const check = pushClient();
    try {
      const registry = check.repository(snap.spec!.repository);
      const back = await waitFor('our content and OCIRepository back, verified by Flux', async () => {
        p.driver.ping();
        await new Promise((r) => setTimeout(r, 3000));
        const r = (await ociRepos().get('manifests')) as OCIRepositoryObject | undefined;
        if (!(r?.spec?.ref.digest === ours && isReadyNow(r) && condition(r, 'SourceVerified').status === 'True')) return undefined;
        return (await registry.manifests.resolve(ours))?.digest === ours ? r : undefined;
      }, LONG);
      expect(fluxStatus(back).artifact?.revision).toBe(ours);
      expect(condition(back, 'SourceVerified').observedGeneration).toBe(back.metadata.generation);
      // the tag is ours again too (a tag-following consumer would read our content)
      expect((await registry.manifests.resolve(snap.spec!.tag!))?.digest).toBe(ours);
    } finally {
      await check.close();
    }
    expect(((await kustomizations().get('manifests'))?.status as { lastAppliedRevision?: string }).lastAppliedRevision).toBe(ours);
  });

  it('a new component version flows through to changed objects in the cluster', async () => {
    const previous = ((await p.get('Snapshot', 'configuration-manifests')) as SnapshotObject).spec!;
    await p.pushSource(await componentVersion({ version: '1.1.0', image: { reference: IMAGE }, manifests: await manifests('1.1.0'), chart: await chart('1.1.0') }));
    await p.api.patchNamespacedCustomObject(
      {
        group: 'serverless.ocm.software',
        version: 'v1alpha1',
        namespace: p.namespace,
        plural: 'components',
        name: 'app',
        body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const cm = await waitFor('kustomize-controller to apply version 1.1.0', async () => {
      const c = await configMap('app');
      return c?.data?.version === '1.1.0' ? c : undefined;
    }, LONG);
    expect(cm.data?.color).toBe('green');
    const values = await waitFor('helm-controller to upgrade to chart 1.1.0', async () => {
      const c = await configMap('podinfo-values');
      return c?.data?.chartVersion?.startsWith('1.1.0+') ? c : undefined;
    }, LONG);
    const chartSnap = (await p.get('Snapshot', 'configuration-chart')) as SnapshotObject;
    expect(values.data?.chartVersion).toBe(`1.1.0+${shortDigest(chartSnap.spec!.digest)}`);
    expect(values.data).toMatchObject({ replicas: '3', image: IMAGE });
    const snap = (await p.get('Snapshot', 'configuration-manifests')) as SnapshotObject;
    const repo = await fluxReady('manifests', snap.spec!.digest);
    expect(condition(repo, 'SourceVerified').status).toBe('True');
    // the replaced manifest is gone from zot, and its signature with it (zot's retention keeps every tag)
    const check = pushClient();
    try {
      const registry = check.repository(previous.repository);
      expect(await registry.manifests.resolve(previous.digest)).toBeUndefined();
      expect(await registry.manifests.resolve(signatureTag(previous.digest))).toBeUndefined();
      expect(await registry.manifests.resolve(signatureTag(snap.spec!.digest))).toBeDefined();
    } finally {
      await check.close();
    }
  });

  it('flux suspend on our OCIRepository: publish keeps it suspended and moves the digest; Flux takes it on resume', async () => {
    const setSuspend = (suspend: boolean) =>
      custom.patchNamespacedCustomObject(
        { group: 'source.toolkit.fluxcd.io', version: 'v1', namespace: p.namespace, plural: 'ocirepositories', name: 'manifests', body: { spec: { suspend } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    const before = ((await p.get('Snapshot', 'configuration-manifests')) as SnapshotObject).spec!.digest;
    // what `flux suspend source oci manifests` does: a merge patch of spec.suspend
    await setSuspend(true);
    await p.pushSource(await componentVersion({ version: '1.2.0', image: { reference: IMAGE }, manifests: await manifests('1.2.0'), chart: await chart('1.2.0') }));
    await p.api.patchNamespacedCustomObject(
      { group: 'serverless.ocm.software', version: 'v1alpha1', namespace: p.namespace, plural: 'components', name: 'app', body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const next = await waitFor('publish to point the suspended OCIRepository at 1.2.0', async () => {
      const snap = (await p.get('Snapshot', 'configuration-manifests')) as SnapshotObject | undefined;
      const r = (await ociRepos().get('manifests')) as OCIRepositoryObject | undefined;
      return snap?.spec && snap.spec.digest !== before && r?.spec?.ref.digest === snap.spec.digest ? r : undefined;
    }, LONG);
    // our server-side apply leaves the field it does not own alone, and source-controller does not move while suspended
    expect(next.spec!.suspend).toBe(true);
    expect(fluxStatus(next).artifact?.revision).toBe(before);
    expect((await configMap('app'))?.data?.version).toBe('1.1.0');

    await setSuspend(false);
    const resumed = await fluxReady('manifests', next.spec!.ref.digest);
    expect(condition(resumed, 'SourceVerified').status).toBe('True');
    const cm = await waitFor('kustomize-controller to apply version 1.2.0', async () => {
      const c = await configMap('app');
      return c?.data?.version === '1.2.0' ? c : undefined;
    }, LONG);
    expect(cm.data?.color).toBe('green');
  });
});
