/**
 * Scenarios 2-7 of issue 6 through the real HTTP functions, the real kube-apiserver and the S3-backed registry
 * (eventing by EventingDriver, since Knative's data plane cannot run here).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType, RegistryClient } from '../../../shared/oci/index.js';
import { descriptorSet, pushComponentVersion, registryConnector, signComponent } from '../../../shared/ocm/index.js';
import type { OCIRepositoryObject, SnapshotObject } from '../../../shared/ports/index.js';
import { services } from '../../infra/services.js';
import { componentVersion, rsaKeys, sign } from '../../support/components.js';
import { isReadyNow, ready } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import { startPipeline, type Pipeline } from './env.js';
import { pushSingleLayerManifest } from '../../support/oci-artifacts.js';

const run = promisify(execFile);

/** Pushes a two-platform image index (index + 2 manifests + configs + layers) to the fs registry. */
async function pushImageIndex(repository: string, tag: string): Promise<{ reference: string; digest: string; children: string[] }> {
  const s = services();
  const client = new RegistryClient({ url: s.registry.fs.url });
  try {
    const repo = client.repository(repository);
    const children: { digest: string; size: number; arch: string }[] = [];
    for (const arch of ['amd64', 'arm64']) {
      const d = await pushSingleLayerManifest(repo, {
        config: Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })),
        configMediaType: MediaType.ImageConfig,
        layer: Buffer.from(`layer for ${arch} ${tag}`),
        layerMediaType: MediaType.Layer,
      });
      children.push({ ...d, arch });
    }
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ImageIndex,
        manifests: children.map((c) => ({ mediaType: MediaType.ImageManifest, digest: c.digest, size: c.size, platform: { architecture: c.arch, os: 'linux' } })),
      }),
    );
    const d = await repo.manifests.push(index, MediaType.ImageIndex, tag);
    return { reference: `${s.registry.fs.host}/${repository}:${tag}`, digest: d.digest, children: children.map((c) => c.digest) };
  } finally {
    await client.close();
  }
}

describe('e2e scenarios 2-7', () => {
  let p: Pipeline;
  let image: Awaited<ReturnType<typeof pushImageIndex>>;
  const keys = rsaKeys();

  beforeAll(async () => {
    p = await startPipeline();
    image = await pushImageIndex(`images-${p.namespace}/app`, '1.0.0');
    await p.pushSource(await componentVersion({ version: '1.0.0', image: { reference: image.reference, digest: image.digest } }));
    await p.create('OCMRepository', 'source', { repositorySpec: { type: 'OCIRegistry', baseUrl: p.sourceBaseUrl } });
    // interval 30s: every resync tick is due (scenario 5 ticks a few seconds after the first check)
    await p.create('Component', 'app', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/podinfo', semver: '>=1.0.0', interval: '30s' });
    await waitFor('Component app', async () => isReadyNow(await p.get('Component', 'app')));
  });
  afterAll(async () => p?.stop());

  it('2: a plain manifests tarball is configured and published for Kustomize (operation extract)', async () => {
    await p.create('Resource', 'manifests', { componentRef: { name: 'app' }, resource: { byReference: { resource: { name: 'manifests' } } } });
    await p.create('Configuration', 'manifests', {
      target: { kind: 'Resource', name: 'manifests' },
      rules: [{ yamlsubst: { source: { value: 'green' }, target: { file: { path: 'deploy.yaml', value: 'data.color' } } } }],
    });
    await p.create('Publication', 'manifests', { source: { kind: 'Configuration', name: 'manifests' } });
    const repo = await waitFor('OCIRepository manifests', async () =>
      isReadyNow(await p.get('Publication', 'manifests')) ? ((await p.getOCIRepository('manifests')) as OCIRepositoryObject) : undefined,
    );
    const snap = (await p.get('Snapshot', 'configuration-manifests')) as SnapshotObject;
    expect(repo.spec).toMatchObject({
      ref: { digest: snap.spec!.digest },
      // literal on purpose: the wire value Flux's layerSelector matches
      layerSelector: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', operation: 'extract' },
    });
    // what Flux's extract does: the layer is tar+gzip holding the configured manifest
    const layer = await p.deps.store.fetchLayer(snap.spec!.repository, snap.spec!.digest);
    try {
      const { stdout } = await run('tar', ['-xzOf', layer.path, 'deploy.yaml']);
      expect(stdout).toContain('color: green');
      expect(stdout).toContain('version: "1.0.0"');
    } finally {
      await layer.dispose();
    }
  });

  it('2b: a Publication with spec.target also copies the artifact to an external registry', async () => {
    const s = services();
    await p.create('Publication', 'manifests-out', {
      source: { kind: 'Configuration', name: 'manifests' },
      target: { url: `oci://${s.registry.fs.host}/published/${p.namespace}/manifests` },
    });
    const pub = await waitFor('Publication manifests-out', async () => {
      const o = await p.get('Publication', 'manifests-out');
      return isReadyNow(o) ? o : undefined;
    });
    const snap = (await p.get('Snapshot', 'configuration-manifests')) as SnapshotObject;
    const published = (pub.status as { published?: { url: string; digest: string; tag?: string } }).published!;
    expect(published).toMatchObject({ url: `oci://${s.registry.fs.host}/published/${p.namespace}/manifests`, digest: snap.spec!.digest });
    const { stdout } = await run(s.bin.crane, ['digest', '--insecure', `${s.registry.fs.host}/published/${p.namespace}/manifests:${snap.spec!.tag}`]);
    expect(stdout.trim()).toBe(snap.spec!.digest);
  });

  it('3: an ociArtifact image index is copied whole (index, manifests, blobs), digest kept', async () => {
    await p.create('Resource', 'image', { componentRef: { name: 'app' }, resource: { byReference: { resource: { name: 'image' } } } });
    await p.create('Publication', 'image', { source: { kind: 'Resource', name: 'image' } });
    await waitFor('Publication image', async () => isReadyNow(await p.get('Publication', 'image')));
    const snap = (await p.get('Snapshot', 'resource-image')) as SnapshotObject;
    expect(snap.spec!.digest).toBe(image.digest);
    expect(snap.spec!.blob.mediaType).toBe(MediaType.ImageIndex);
    const s = services();
    const ours = `${p.registry.host}/${snap.spec!.repository}`;
    const env = p.registry.toolEnv;
    const { stdout: digest } = await run(s.bin.crane, ['digest', `${ours}:1.0.0`], { env });
    expect(digest.trim()).toBe(image.digest);
    for (const child of image.children) {
      const { stdout } = await run(s.bin.crane, ['manifest', `${ours}@${child}`], { env });
      const m = JSON.parse(stdout) as { layers: Array<{ digest: string }> };
      await run(s.bin.crane, ['blob', `${ours}@${m.layers[0]!.digest}`], { env, maxBuffer: 64 * 1024 * 1024 });
    }
    const repo = (await p.getOCIRepository('image')) as OCIRepositoryObject;
    expect(repo.spec!.ref.digest).toBe(image.digest);
    expect(repo.spec!.layerSelector).toBeUndefined();
  });

  it('4: a signed component verifies; a tampered one is Ready=False ComponentVerificationFailed and nothing is pushed', async () => {
    const signed = await sign(await componentVersion({ version: '1.0.0' }), keys.privateKey, 'acme');
    signed.descriptor.name = 'ocm.software/test/signed';
    const resigned = await signComponent(descriptorSet(signed.descriptor), { signatureName: 'acme', privateKey: keys.privateKey });
    await p.pushSource({ ...signed, descriptor: resigned.root });
    const tampered = structuredClone(resigned.root);
    tampered.name = 'ocm.software/test/tampered';
    // carries a signature made for other content: the normalised digest no longer matches
    await p.pushSource({ ...signed, descriptor: tampered });
    await p.create('Component', 'signed', {
      repositoryRef: { name: 'source' },
      component: 'ocm.software/test/signed',
      semver: '1.0.0',
      verify: [{ signature: 'acme', value: keys.publicKey }],
    });
    await p.create('Component', 'tampered', {
      repositoryRef: { name: 'source' },
      component: 'ocm.software/test/tampered',
      semver: '1.0.0',
      verify: [{ signature: 'acme', value: keys.publicKey }],
    });
    await waitFor('Component signed', async () => isReadyNow(await p.get('Component', 'signed')));
    const bad = await waitFor('Component tampered fails', async () => {
      const c = await p.get('Component', 'tampered');
      return ready(c).status === 'False' ? c : undefined;
    });
    expect(ready(bad)).toMatchObject({ status: 'False', reason: 'ComponentVerificationFailed' });
    expect(ready(bad).message).toMatch(/digest|signature/i);
    expect(await p.get('Snapshot', 'component-tampered')).toBeUndefined();
    const tags = await p.deps.store.hasManifest(`${p.namespace}/component/tampered`, 'sha256:' + '0'.repeat(64));
    expect(tags).toBe(false);
    const s = services();
    const ls = await run(s.bin.crane, ['ls', `${p.registry.host}/${p.namespace}/component/tampered`], { env: p.registry.toolEnv }).then(
      (r) => r.stdout.trim(),
      () => '',
    );
    expect(ls).toBe('');
    expect(ready(await p.get('Component', 'signed')).status).toBe('True');
  });

  it('5: a new component version is picked up by the resync tick and everything downstream moves', async () => {
    await waitFor('Publication manifests', async () => isReadyNow(await p.get('Publication', 'manifests')));
    const before = ((await p.getOCIRepository('manifests')) as OCIRepositoryObject).spec!.ref.digest;
    await p.pushSource(await componentVersion({ version: '1.1.0', image: { reference: image.reference, digest: image.digest } }));
    const t0 = performance.now();
    p.driver.ping();
    const repo = await waitFor('OCIRepository manifests to move', async () => {
      const r = (await p.getOCIRepository('manifests')) as OCIRepositoryObject | undefined;
      return r && r.spec!.ref.digest !== before ? r : undefined;
    });
    console.log(`scenario 5: resync tick -> OCIRepository moved in ${(performance.now() - t0).toFixed(0)} ms`);
    const comp = await p.get('Component', 'app');
    expect((comp!.status as { component?: { version?: string } }).component?.version).toBe('1.1.0');
    const snap = (await p.get('Snapshot', 'configuration-manifests')) as SnapshotObject;
    expect(snap.spec!.tag).toBe('1.1.0');
    expect(repo.spec!.ref.digest).toBe(snap.spec!.digest);
    const layer = await p.deps.store.fetchLayer(snap.spec!.repository, snap.spec!.digest);
    try {
      const { stdout } = await run('tar', ['-xzOf', layer.path, 'deploy.yaml']);
      expect(stdout).toContain('version: "1.1.0"');
      expect(stdout).toContain('color: green');
    } finally {
      await layer.dispose();
    }
  });

  it('7: missing resource, bad rule path, digest mismatch: clear reasons, the functions keep serving', async () => {
    const corrupt = await componentVersion({ version: '1.0.0', corruptBlob: 'manifests' });
    corrupt.descriptor.name = 'ocm.software/test/corrupt';
    await p.pushSource(corrupt);
    await p.create('Component', 'corrupt', { repositoryRef: { name: 'source' }, component: 'ocm.software/test/corrupt', semver: '1.0.0' });
    await p.create('Resource', 'corrupt', { componentRef: { name: 'corrupt' }, resource: { byReference: { resource: { name: 'manifests' } } } });
    await p.create('Resource', 'missing', { componentRef: { name: 'app' }, resource: { byReference: { resource: { name: 'no-such-resource' } } } });
    await p.create('Configuration', 'bad-path', {
      target: { kind: 'Resource', name: 'manifests' },
      rules: [{ yamlsubst: { source: { value: 1 }, target: { file: { path: 'does/not/exist.yaml', value: 'a.b' } } } }],
    });
    // dependencies may be reported first (ComponentIsNotReady while the new Component resolves): wait for the reason
    const failed = async (kind: string, name: string, reason: string) =>
      waitFor(`${kind} ${name} to fail with ${reason}`, async () => {
        const o = await p.get(kind, name);
        return ready(o).status === 'False' && ready(o).reason === reason ? ready(o) : undefined;
      });
    const missing = await failed('Resource', 'missing', 'ResolveResourceFailed');
    expect(missing.reason).toBe('ResolveResourceFailed');
    expect(missing.message).toContain('no-such-resource');
    const badPath = await failed('Configuration', 'bad-path', 'ConfigurationFailed');
    expect(badPath.reason).toBe('ConfigurationFailed');
    expect(badPath.message).toContain('does/not/exist.yaml');
    const mismatch = await failed('Resource', 'corrupt', 'VerifyResourceFailed');
    expect(mismatch.reason).toBe('VerifyResourceFailed');
    expect(mismatch.message).toMatch(/digest/i);
    for (const name of ['resource-missing', 'resource-corrupt', 'configuration-bad-path']) {
      expect(await p.get('Snapshot', name), name).toBeUndefined();
    }
    // the functions keep serving: health endpoints answer and new work still flows
    for (const { url } of Object.values(p.servers)) {
      const res = await request(`${url}healthz`);
      await res.body.dump();
      expect(res.statusCode).toBe(200);
    }
    await p.create('Resource', 'chart', { componentRef: { name: 'app' }, resource: { byReference: { resource: { name: 'chart' } } } });
    await waitFor('Resource chart', async () => isReadyNow(await p.get('Resource', 'chart')));
  });

  it('8: a source behind TLS + basic auth, credentials from a dockerconfigjson Secret', async () => {
    const s = services();
    const tls = s.registry.tls;
    const auth = { username: tls.username, password: tls.password };
    const connector = registryConnector({ credentials: auth, caFile: tls.caFile });
    const cv = await componentVersion({ version: '4.0.0' });
    cv.descriptor.name = 'ocm.software/test/private';
    try {
      await pushComponentVersion(connector.connect, `https://${tls.host}/private-${p.namespace}`, cv);
    } finally {
      await connector.close();
    }
    const dockerconfig = { auths: { [tls.host]: { auth: Buffer.from(`${tls.username}:${tls.password}`).toString('base64') } } };
    await p.kc.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: p.namespace,
      body: {
        metadata: { name: 'private-pull' },
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': Buffer.from(JSON.stringify(dockerconfig)).toString('base64') },
      },
    });
    await p.create('OCMRepository', 'private', {
      repositorySpec: { type: 'OCIRegistry', baseUrl: `https://${tls.host}/private-${p.namespace}` },
      secretRef: { name: 'private-pull' },
    });
    await p.create('Component', 'private', { repositoryRef: { name: 'private' }, component: 'ocm.software/test/private', semver: '4.x' });
    await p.create('Resource', 'private-chart', { componentRef: { name: 'private' }, resource: { byReference: { resource: { name: 'chart' } } } });
    await waitFor('Resource private-chart', async () => isReadyNow(await p.get('Resource', 'private-chart')));
    const snap = (await p.get('Snapshot', 'resource-private-chart')) as SnapshotObject;
    // literal on purpose: the wire value of a Helm chart layer
    expect(snap.spec).toMatchObject({ tag: '4.0.0', blob: { mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip' } });
    // the credentials never show up in status
    expect(JSON.stringify(await p.get('OCMRepository', 'private'))).not.toContain(tls.password);
    expect(JSON.stringify(await p.get('Component', 'private'))).not.toContain(tls.password);
  });

  it('6: deleting a Component removes its snapshot and manifest (delete events drive the cleanup)', async () => {
    const snap = (await p.get('Snapshot', 'component-signed')) as SnapshotObject;
    expect(await p.deps.store.hasManifest(snap.spec!.repository, snap.spec!.digest)).toBe(true);
    await p.del('Component', 'signed');
    await waitFor('Snapshot component-signed to go', async () => (await p.get('Snapshot', 'component-signed')) === undefined);
    expect(await p.deps.store.hasManifest(snap.spec!.repository, snap.spec!.digest)).toBe(false);
    await p.driver.settle();
    expect(p.driver.deadLetters.map((d) => `${d.stage} ${d.event.type} ${d.status} ${d.body}`)).toEqual([]);
  });
});
