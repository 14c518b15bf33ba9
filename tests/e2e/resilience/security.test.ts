/**
 * Security (issue 9, docs/design.md §10): the functions use zot with the shipped config (services().registry.zot: TLS,
 * htpasswd, access control) as their internal registry (REGISTRY_URL/REGISTRY_CA_FILE/REGISTRY_USERNAME/
 * REGISTRY_PASSWORD), read the component from a second TLS + htpasswd registry (docker-registry,
 * services().registry.tls) with a dockerconfigjson Secret (OCMRepository.spec.secretRef), and copy one
 * publication to it (Publication.spec.target.secretRef). The pipeline must go Ready, and the passwords, the
 * basic-auth tokens and the dockerconfigjson must appear nowhere: not in any function's log (at debug level), not
 * in zot's log, not in any object of the namespace (our kinds, OCIRepositories, Kubernetes Events) but the Secret.
 */
import { readFile } from 'node:fs/promises';
import { CoreV1Api } from '@kubernetes/client-node';
import { request } from 'undici';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryConnector, pushComponentVersion } from '../../../shared/ocm/index.js';
import { services } from '../../infra/services.js';
import { componentVersion } from '../../support/components.js';
import { waitFor } from '../../support/wait.js';
import { ORDERED, type ChaosBroker } from './broker.js';
import { Cluster, STANDARD_COUNT, STANDARD_KINDS, createStandardPipeline, registryAccess, verifyReadySnapshots } from './cluster.js';
import { startFunctions, type FunctionProcess } from './functions.js';
import { logDir, watchNamespace, zotAccess } from './rig.js';
import { TEST_EGRESS_ALLOW } from '../../infra/egress.js';
import { MediaType } from '../../../shared/oci/media-types.js';

describe('resilience: registry over TLS with auth, and no credential leaks', () => {
  let fns: Record<string, FunctionProcess>;
  let broker: ChaosBroker | undefined;

  beforeAll(async () => {
    const s = services();
    const tls = s.registry.tls;
    const zot = s.registry.zot;
    fns = await startFunctions(
      {
        KUBECONFIG: s.kube.kubeconfig,
        REGISTRY_URL: zot.url,
        REGISTRY_CA_FILE: zot.caFile,
        REGISTRY_USERNAME: zot.push.username,
        REGISTRY_PASSWORD: zot.push.password,
        SOURCE_CA_FILE: tls.caFile,
        FLUX_CERT_SECRET: 'registry-ca',
        FLUX_SECRET: 'registry-pull',
        INSECURE_REGISTRIES: s.registry.fs.host,
        // loopback is where every test service lives; the Publication's target (the TLS registry) is not the
        // internal registry (zot), so the egress policy lets it through
        EGRESS_ALLOW: TEST_EGRESS_ALLOW.join(','),
        // the most talkative level: whatever could leak, would leak here
        LOG_LEVEL: 'debug',
      },
      await logDir('security'),
    );
  });
  afterAll(async () => {
    await broker?.stop();
    await Promise.all(Object.values(fns ?? {}).map((f) => f.stop()));
  });

  async function leakScan(c: Cluster): Promise<{ lines: number; bytes: number }> {
    const tls = services().registry.tls;
    const zot = services().registry.zot;
    const basic = Buffer.from(`${tls.username}:${tls.password}`).toString('base64');
    const zotBasic = Buffer.from(`${zot.push.username}:${zot.push.password}`).toString('base64');
    const needles = [tls.password, basic, dockerConfigB64, Buffer.from(tls.password).toString('base64'), zot.push.password, zotBasic];
    const logText = Object.values(fns)
      .flatMap((f) => [...f.logs.map((l) => l.raw), ...f.stderr])
      .join('\n');
    expect(logText.length).toBeGreaterThan(1000);
    // zot logs every request (user names included): never a password or an Authorization value
    const zotLog = await readFile(zot.logFile, 'utf8');
    expect(zotLog).toContain(zot.push.username);
    for (const needle of [zot.push.password, zotBasic]) {
      expect(zotLog.includes(needle), `a credential (${needle.slice(0, 4)}...) in zot's log`).toBe(false);
    }
    const events = await c.kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: c.namespace });
    const objectsYaml = [...(await c.all()).map((o) => stringify(o)), ...events.items.map((e) => stringify(e))].join('\n---\n');
    expect(objectsYaml).toContain('registry-creds');
    for (const needle of needles) {
      expect(logText.includes(needle), `a credential (${needle.slice(0, 4)}...) in the functions' logs`).toBe(false);
      expect(objectsYaml.includes(needle), `a credential (${needle.slice(0, 4)}...) in an object or Event`).toBe(false);
    }
    return { lines: logText.split('\n').length, bytes: objectsYaml.length };
  }

  let c: Cluster;
  let dockerConfigB64 = '';

  it('the pipeline goes Ready through zot (TLS, auth, access control); credentials appear in no log, status or object', async () => {
    const s = services();
    const tls = s.registry.tls;
    const basic = Buffer.from(`${tls.username}:${tls.password}`).toString('base64');
    const dockerConfig = JSON.stringify({ auths: { [tls.host]: { username: tls.username, password: tls.password, auth: basic } } });
    dockerConfigB64 = Buffer.from(dockerConfig).toString('base64');

    // the registry really demands credentials
    const anon = await request(`${tls.url}/v2/`, { dispatcher: registryAccess(tls.url, { ca: await readFile(tls.caFile, 'utf8') }).dispatcher! });
    await anon.body.dump();
    expect(anon.statusCode).toBe(401);

    c = await Cluster.create();
    const base = `https://${tls.host}/src-${c.namespace}`;
    const connector = registryConnector({ credentials: { username: tls.username, password: tls.password }, caFile: tls.caFile });
    try {
      await pushComponentVersion(connector.connect, base, await componentVersion({ version: '1.0.0' }));
    } finally {
      await connector.close();
    }
    await c.kc.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: c.namespace,
      body: { metadata: { name: 'registry-creds' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': dockerConfigB64 } },
    });
    broker = await watchNamespace(c, fns, { ...ORDERED, concurrency: 4 });
    const t0 = performance.now();
    await createStandardPipeline(c, base, { secretName: 'registry-creds' });
    await c.waitAllReady(STANDARD_KINDS, STANDARD_COUNT, 120_000);
    const ms = performance.now() - t0;
    await broker.settle(500, 60_000);

    const zot = s.registry.zot;
    // the zot as Flux reads it: the read-only user
    const reg = await zotAccess(zot);
    const verified = await verifyReadySnapshots(c, reg);
    expect(verified.problems).toEqual([]);
    expect(verified.checked).toBe(5);
    for (const repo of await c.listOCIRepositories()) {
      expect((repo.spec as { url?: string }).url).toContain(zot.host);
      // Flux gets the names of the CA and pull Secrets, never their contents
      expect(repo.spec).toMatchObject({ certSecretRef: { name: 'registry-ca' }, secretRef: { name: 'registry-pull' } });
    }
    const scanned = await leakScan(c);
    console.log(`security: Ready through zot in ${ms.toFixed(0)} ms; ${scanned.lines} log lines and ${scanned.bytes} bytes of object YAML scanned`);
    expect(broker.dead).toEqual([]);
  });

  it('a Publication copies to a TLS registry target (insecure: false, dockerconfigjson Secret) without leaking it', async () => {
    const tls = services().registry.tls;
    await c.create('Publication', 'copied', {
      source: { kind: 'Configuration', name: 'manifests' },
      // insecure: false says it in so many words: this target speaks TLS, loopback address or not
      target: { url: `oci://${tls.host}/published-${c.namespace}/manifests`, secretRef: { name: 'registry-creds' }, insecure: false },
    });
    const settled = await waitFor('Publication copied to settle', async () => {
      const o = await c.get('Publication', 'copied');
      const r = o?.status?.conditions?.find((x) => x.type === 'Ready');
      return r && (r.status === 'True' || !/NotReady$/.test(r.reason ?? '')) ? o : undefined;
    });
    // failure messages are scanned too
    await leakScan(c);
    const ready = settled.status?.conditions?.find((x) => x.type === 'Ready');
    expect(ready, JSON.stringify(ready)).toMatchObject({ status: 'True' });
    const snap = await c.get('Snapshot', 'configuration-manifests');
    const reg = registryAccess(tls.url, { ca: await readFile(tls.caFile, 'utf8'), username: tls.username, password: tls.password });
    const copied = await request(`${tls.url}/v2/published-${c.namespace}/manifests/manifests/${(snap?.spec as { digest: string }).digest}`, {
      dispatcher: reg.dispatcher!,
      method: 'HEAD',
      headers: { authorization: reg.authorization!, accept: MediaType.ImageManifest },
    });
    await copied.body.dump();
    expect(copied.statusCode).toBe(200);
  });
});
