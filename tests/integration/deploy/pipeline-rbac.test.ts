/**
 * The functions work with exactly the shipped RBAC: the four stages run as real HTTP function servers
 * (the same stage wiring their mains use, functions/adapters/wiring.ts realDeps) whose KUBECONFIG holds
 * nothing but their own ServiceAccount's TokenRequest token; the event source watches with the
 * ApiServerSource ServiceAccount's token. A Component with a registry secret, a Resource, a
 * Configuration and a Publication go all the way to a Flux OCIRepository in a tenant namespace
 * opted in by knative/tenant. Any missing verb would surface as a 403 -> retried 5xx -> never Ready.
 * (Eventing is the e2e EventingDriver stand-in: Knative's data plane cannot run here.)
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfigureStage } from '../../../functions/configure/handler.js';
import { createDescriptorStage } from '../../../functions/descriptor/handler.js';
import { createPublishStage } from '../../../functions/publish/handler.js';
import { createResourceStage } from '../../../functions/resource/handler.js';
import { realDeps, type StageConfig, type StageDeps } from '../../../functions/adapters/wiring.js';
import { createConfigureEngine } from '../../../shared/configure/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { pushComponentVersion, registryConnector } from '../../../shared/ocm/index.js';
import type { KubeObject, Stage } from '../../../shared/ports/index.js';
import { createFunctionServer, handlerFromStage, stageErrorClassifier, type FunctionServer } from '../../../shared/server/index.js';
import { createNamespace, kubeConfig } from '../../infra/kube.js';
import { services } from '../../infra/services.js';
import { componentVersion } from '../../support/components.js';
import { EventingDriver } from '../../support/eventing-driver.js';
import { isReadyNow, ready } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import { startAdapterAs } from './receive-adapter-rbac.js';
import { functionKubeconfigFile, functionKubeConfig, installTenant } from './rbac-fixture.js';
import { GROUP, PLURALS, VERSION } from '../../../shared/kube/index.js';
import { testEgressConfig } from '../../infra/egress.js';

describe('the pipeline runs with the shipped RBAC only (minted ServiceAccount tokens)', () => {
  let namespace: string;
  let admin: CustomObjectsApi;
  let driver: EventingDriver;
  const servers: FunctionServer[] = [];
  const deps: StageDeps[] = [];
  const cacheWarnings: string[] = [];
  const managers = new Set<string>();

  const get = async (kind: string, name: string): Promise<KubeObject | undefined> => {
    try {
      return (await admin.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind]!, name })) as KubeObject;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  };
  const create = (kind: string, name: string, spec: Record<string, unknown>) =>
    admin.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind]!, body: { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name, namespace }, spec } });
  /** on a timeout: each object's Ready condition and the last failed deliveries */
  const explain = async (): Promise<string> => {
    const failed = driver.deliveries.filter((d) => d.status >= 300).slice(-5);
    const conditions = await Promise.all(
      ['Component/app', 'Resource/manifests', 'Configuration/manifests', 'Publication/manifests'].map(async (k) => {
        const [kind, name] = k.split('/') as [string, string];
        const c = ready(await get(kind, name));
        return `${k}: ${c.status ?? '-'} ${c.reason ?? ''} ${c.message ?? ''}`;
      }),
    );
    return `Ready: ${conditions.join('; ')}; last failed deliveries: ${JSON.stringify(failed)}`;
  };

  beforeAll(async () => {
    const s = services();
    namespace = await createNamespace(`rbac-pipe-${Date.now().toString(36)}`);
    await installTenant(namespace);
    admin = kubeConfig().makeApiClient(CustomObjectsApi);
    const logger = createLogger({ level: 'silent' });
    const makers: Record<string, (d: StageDeps) => Stage> = {
      descriptor: (d) => createDescriptorStage({ ...d }),
      resource: (d) => createResourceStage({ ...d }),
      configure: (d) => createConfigureStage({ ...d, engine: createConfigureEngine() }),
      publish: (d) => createPublishStage({ ...d }),
    };
    const kinds: Record<string, string[]> = {
      descriptor: ['OCMRepository', 'Component', 'Snapshot'],
      resource: ['Resource', 'Snapshot'],
      configure: ['Configuration', 'Snapshot'],
      publish: ['Publication', 'Snapshot'],
    };
    const subscribers = [];
    for (const stage of Object.keys(makers) as ('descriptor' | 'resource' | 'configure' | 'publish')[]) {
      const config: StageConfig = {
        KUBECONFIG: await functionKubeconfigFile(stage),
          KUBE_CACHE: undefined,
        REGISTRY_URL: s.registry.s3.url,
        REGISTRY_CA_FILE: undefined,
        REGISTRY_USERNAME: undefined,
        REGISTRY_PASSWORD: undefined,
        REGISTRY_PUBLIC_HOST: undefined,
        FLUX_INSECURE: undefined,
        FLUX_CERT_SECRET: 'ocm-knative-registry-ca',
        FLUX_SECRET: 'ocm-knative-registry-pull',
        INSECURE_REGISTRIES: s.registry.fs.host,
        SOURCE_CA_FILE: undefined,
        ...testEgressConfig,
      };
      // the read cache lists and watches every kind the stage reads: a missing verb shows up as a warning here
      const d = await realDeps(config, stage, {
        info: () => undefined,
        error: () => undefined,
        warn: (obj, msg) => cacheWarnings.push(`${stage}: ${msg ?? ''} ${JSON.stringify(obj)}`),
      });
      deps.push(d);
      const server = createFunctionServer({
        stage,
        handle: handlerFromStage(d.prepare(makers[stage]!(d))),
        config: { BODY_LIMIT: 5 * 1024 * 1024, SHUTDOWN_TIMEOUT: 10_000, REPLY_EVENTS: false, PROCESS_METRICS: false },
        logger: logger.child({ stage }),
        classifyError: stageErrorClassifier,
      });
      const addr = await server.listen(0, '127.0.0.1');
      servers.push(server);
      subscribers.push({ stage, url: `http://127.0.0.1:${addr.port}/`, kinds: kinds[stage]! });
    }
    const sourceKc: KubeConfig = await functionKubeConfig('apiserversource');
    driver = new EventingDriver(sourceKc, subscribers, { source: s.kube.server, backoffMs: 50 });
    await driver.watch(namespace, Object.values(PLURALS).map((plural) => ({ group: GROUP, version: VERSION, plural })));
  });

  afterAll(async () => {
    await driver?.stop();
    for (const srv of servers) await srv.close();
    for (const d of deps) await d.close();
  });

  it('Component -> Resource -> Configuration -> Publication -> OCIRepository, every stage as its own ServiceAccount', async () => {
    const s = services();
    const t0 = Date.now();
    const sourceBaseUrl = `http://${s.registry.fs.host}/src-${namespace}`;
    const connector = registryConnector({ insecureHosts: [s.registry.fs.host] });
    try {
      await pushComponentVersion(connector.connect, sourceBaseUrl, await componentVersion({ version: '1.0.0' }));
    } finally {
      await connector.close();
    }
    // A pull secret the descriptor and resource stages must read through the tenant RoleBinding.
    const core = kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'source-pull' }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': JSON.stringify({ auths: { 'unused.example': { auth: Buffer.from('u:p').toString('base64') } } }) } },
    });
    await create('OCMRepository', 'source', { repositorySpec: { type: 'OCIRegistry', baseUrl: sourceBaseUrl }, secretRef: { name: 'source-pull' } });
    await create('Component', 'app', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' });
    await create('Resource', 'manifests', { componentRef: { name: 'app' }, resource: { byReference: { resource: { name: 'manifests' } } } });
    await create('Configuration', 'manifests', {
      target: { kind: 'Resource', name: 'manifests' },
      rules: [{ yamlsubst: { source: { value: 'green' }, target: { file: { path: 'deploy.yaml', value: 'data.color' } } } }],
    });
    await create('Publication', 'manifests', { source: { kind: 'Configuration', name: 'manifests' } });

    const oci = await waitFor(
      'Publication Ready and its OCIRepository',
      async () => {
        if (!isReadyNow(await get('Publication', 'manifests'))) return undefined;
        try {
          return (await admin.getNamespacedCustomObject({ group: 'source.toolkit.fluxcd.io', version: 'v1', namespace, plural: 'ocirepositories', name: 'manifests' })) as KubeObject & {
            spec: { ref: { digest: string }; certSecretRef?: { name: string }; secretRef?: { name: string } };
          };
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 90_000, explain },
    );
    const ms = Date.now() - t0;
    for (const [kind, name] of [['OCMRepository', 'source'], ['Component', 'app'], ['Resource', 'manifests'], ['Configuration', 'manifests']] as const) {
      expect(isReadyNow(await get(kind, name)), `${kind}/${name} Ready`).toBe(true);
    }
    expect(oci.spec.ref.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(oci.spec.certSecretRef?.name).toBe('ocm-knative-registry-ca');
    expect(oci.spec.secretRef?.name).toBe('ocm-knative-registry-pull');
    // Writes carry each stage's own field manager: the stages wrote as themselves.
    for (const [kind, name] of [['Component', 'app'], ['Resource', 'manifests'], ['Configuration', 'manifests'], ['Publication', 'manifests']] as const) {
      const meta = (await get(kind, name))?.metadata as { managedFields?: { manager?: string }[] } | undefined;
      for (const m of meta?.managedFields ?? []) if (m.manager) managers.add(m.manager);
    }
    expect([...managers]).toEqual(expect.arrayContaining(['ocm-knative-descriptor', 'ocm-knative-resource', 'ocm-knative-configure', 'ocm-knative-publish']));
    // Nothing ended in the dead-letter sink (a 403 would, after retries).
    expect(driver.deadLetters.map((d) => `${d.stage} ${d.status} ${d.body.slice(0, 200)}`)).toEqual([]);
    // Every stage could list + watch what it reads (its read cache ran on the shipped RBAC).
    expect(cacheWarnings).toEqual([]);
    console.info(`[pipeline-rbac] Component -> OCIRepository with minted SA tokens in ${ms} ms, ${driver.deliveries.length} deliveries`);
  });
});

// Knative's real ApiServerSource receive adapter, when tests/infra could build it: it lists and
// watches our kinds with nothing but the shipped ocm-knative-apiserversource token.
const adapterBin = services().bin.apiserverReceiveAdapter;
if (adapterBin) {
  describe('the real ApiServerSource receive adapter runs as its shipped ServiceAccount', () => {
    it('emits Resource-mode events for our kinds in a tenant namespace', async () => {
      const namespace = await createNamespace(`rbac-src-${Date.now().toString(36)}`);
      await installTenant(namespace);
      const adapter = await startAdapterAs(adapterBin, await functionKubeconfigFile('apiserversource'), [namespace]);
      const api = kubeConfig().makeApiClient(CustomObjectsApi);
      try {
        // The adapter emits nothing for objects that exist when its watch starts: keep creating
        // Components until one is reported.
        const deadline = Date.now() + 45_000;
        let n = 0;
        while (!adapter.events.some((e) => e.kind === 'Component') && Date.now() < deadline) {
          await api.createNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace,
            plural: 'components',
            body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Component', metadata: { name: `probe-${n++}`, namespace }, spec: { repositoryRef: { name: 'source' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0' } },
          });
          await new Promise((r) => setTimeout(r, 1000));
        }
        const ev = adapter.events.find((e) => e.kind === 'Component');
        expect(ev, `no event; adapter log:\n${(await adapter.log()).slice(-2000)}`).toBeDefined();
        expect(ev!.type).toBe('dev.knative.apiserver.resource.add');
        expect(ev!.namespace).toBe(namespace);
        expect(ev!.name).toMatch(/^probe-\d+$/);
        expect(await adapter.log()).not.toMatch(/forbidden/i);
      } finally {
        await adapter.stop();
      }
    });
  });
}
