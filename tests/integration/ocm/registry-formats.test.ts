/**
 * Component versions in a real registry (docker-registry 2.8) in the formats other producers use:
 * legacy Gardener config/layer media types, descriptor layer as plain JSON or YAML (not tar), subPath, and
 * versions with build metadata (`+` stored as `.build-` in the tag).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, RegistryClient } from '../../../shared/oci/index.js';
import {
  openRepository,
  pushComponentVersion,
  registryConnector,
  resolveComponentVersion,
  serializeComponentDescriptor,
  VersionNotFoundError,
  ArtifactFormatError,
  openResourceAccess,
  DigestMismatchError,
  type Resource,
  type ClosableConnector,
  type ComponentDescriptor,
} from '../../../shared/ocm/index.js';
import { services, type Services } from '../../infra/services.js';
import { readBounded } from '../../../shared/ocm/streams.js';
import { sampleChart } from '../../fixtures/ocm/sample.js';
import { sha256 } from '../../support/digest.js';
import { pushSingleLayerManifest } from '../../support/oci-artifacts.js';
import { MediaType } from '../../../shared/oci/media-types.js';

let svc: Services;
let connector: ClosableConnector;
let client: RegistryClient;

function cd(name: string, version: string): ComponentDescriptor {
  return {
    schemaVersion: 'v2',
    name,
    version,
    provider: { name: 'acme.org' },
    repositoryContexts: [],
    sources: [],
    references: [],
    resources: [{ name: 'img', version: '1.0.0', type: 'ociImage', relation: 'external', access: { type: 'ociArtifact', imageReference: 'ghcr.io/acme/img:1.0.0' } }],
    signatures: [],
  };
}

/** Push a component version by hand with the given config/layer media types and layer bytes. */
async function pushRaw(repo: string, tag: string, configMediaType: string, layerMediaType: string, layer: Buffer): Promise<void> {
  const layerDesc = { mediaType: layerMediaType, digest: sha256(layer), size: layer.length };
  const config = Buffer.from(JSON.stringify({ componentDescriptorLayer: layerDesc }));
  await pushSingleLayerManifest(client.repository(repo), { config, configMediaType, layer, layerMediaType, tag });
}

beforeAll(() => {
  svc = services();
  connector = registryConnector({ insecureHosts: [svc.registry.fs.host] });
  client = new RegistryClient({ url: svc.registry.fs.url });
});
afterAll(async () => {
  await connector.close();
  await client.close();
});

describe('registry formats', () => {
  it('legacy Gardener media types with a JSON descriptor layer', async () => {
    const d = cd('acme.org/legacy', '1.0.0');
    await pushRaw(
      'fmt/component-descriptors/acme.org/legacy',
      '1.0.0',
      'application/vnd.gardener.cloud.cnudie.component.config.v1+json',
      'application/vnd.gardener.cloud.cnudie.component-descriptor.v2+json',
      Buffer.from(serializeComponentDescriptor(d, 'json')),
    );
    const repo = await openRepository({ type: 'OCIRegistry', baseUrl: `http://${svc.registry.fs.host}/fmt` }, { oci: connector.connect });
    expect(await repo.getDescriptor('acme.org/legacy', '1.0.0')).toEqual(d);
  });

  it('current config with a plain YAML descriptor layer (v3alpha1 schema)', async () => {
    const d = { ...cd('acme.org/yaml', '2.0.0'), schemaVersion: 'ocm.software/v3alpha1' as const };
    await pushRaw(
      'fmt/component-descriptors/acme.org/yaml',
      '2.0.0',
      MediaType.ComponentConfig,
      MediaType.ComponentDescriptorYaml,
      Buffer.from(serializeComponentDescriptor(d, 'yaml')),
    );
    const repo = await openRepository({ type: 'OCIRegistry', baseUrl: `http://${svc.registry.fs.host}/fmt` }, { oci: connector.connect });
    expect(await repo.getDescriptor('acme.org/yaml', '2.0.0')).toEqual(d);
  });

  it('a foreign artifact in the component repository is a typed format error', async () => {
    await pushRaw('fmt/component-descriptors/acme.org/foreign', '1.0.0', MediaType.ImageConfig, MediaType.Layer, Buffer.from('x'));
    const repo = await openRepository({ type: 'OCIRegistry', baseUrl: `http://${svc.registry.fs.host}/fmt` }, { oci: connector.connect });
    await expect(repo.getDescriptor('acme.org/foreign', '1.0.0')).rejects.toBeInstanceOf(ArtifactFormatError);
  });

  it('subPath and build metadata: + is stored as .build- and mapped back', async () => {
    const base = `http://${svc.registry.fs.host}/org`;
    for (const v of ['1.0.0', '1.1.0+build.7', '1.2.0-rc.1']) await pushComponentVersion(connector.connect, base, { descriptor: cd('acme.org/tags', v) }, 'ocm');
    const tags = await client.repository('org/ocm/component-descriptors/acme.org/tags').manifests.tags();
    expect(tags.sort()).toEqual(['1.0.0', '1.1.0.build-build.7', '1.2.0-rc.1']);
    const repo = await openRepository({ type: 'OCIRegistry', baseUrl: base, subPath: 'ocm' }, { oci: connector.connect });
    expect((await repo.listVersions('acme.org/tags')).sort()).toEqual(['1.0.0', '1.1.0+build.7', '1.2.0-rc.1']);
    const picked = await resolveComponentVersion(repo, 'acme.org/tags', { semver: '>=1.0.0' });
    expect(picked.version).toBe('1.1.0+build.7');
    expect(picked.descriptor.version).toBe('1.1.0+build.7');
    expect(await repo.listVersions('acme.org/unknown')).toEqual([]);
    await expect(repo.getDescriptor('acme.org/tags', '9.9.9')).rejects.toBeInstanceOf(VersionNotFoundError);
  });

  it('access methods against the registry: helm OCI chart, ociBlob, localBlob via globalAccess', async () => {
    const host = svc.registry.fs.host;
    // a helm chart pushed as OCI artifact (what `helm push` produces)
    const chart = await sampleChart('0.1.0');
    const chartCfg = Buffer.from('{"apiVersion":"v2","name":"podinfo","version":"0.1.0"}');
    const charts = client.repository('charts/podinfo');
    await charts.blobs.push({ digest: sha256(chart), size: chart.length }, bufferSource(chart));
    await charts.blobs.push({ digest: sha256(chartCfg), size: chartCfg.length }, bufferSource(chartCfg));
    const chartManifest = await charts.manifests.push(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ImageManifest,
          config: { mediaType: MediaType.HelmConfig, digest: sha256(chartCfg), size: chartCfg.length },
          layers: [{ mediaType: MediaType.HelmChart, digest: sha256(chart), size: chart.length }],
        }),
      ),
      MediaType.ImageManifest,
      '0.1.0',
    );
    const owner = cd('acme.org/access', '1.0.0');
    const helm: Resource = {
      name: 'chart',
      version: '0.1.0',
      type: 'helmChart',
      relation: 'external',
      access: { type: 'helm', helmRepository: `oci://${host}/charts`, helmChart: 'podinfo:0.1.0' },
      digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'ociArtifactDigest/v1', value: chartManifest.digest.slice(7) },
    };
    const h = await openResourceAccess(owner, helm, { oci: connector.connect });
    expect(h.kind).toBe('ociArtifact');
    if (h.kind === 'ociArtifact') {
      expect(h.manifestDigest).toBe(chartManifest.digest);
      expect(h.reference).toMatchObject({ registry: host, repository: 'charts/podinfo', tag: '0.1.0' });
    }
    const wrong = { ...helm, digest: { ...helm.digest!, value: '0'.repeat(64) } };
    await expect(openResourceAccess(owner, wrong, { oci: connector.connect })).rejects.toBeInstanceOf(DigestMismatchError);
    // ociBlob
    const blob: Resource = {
      name: 'blob',
      version: '1',
      type: 'helmChart',
      relation: 'external',
      access: { type: 'ociBlob', ref: `${host}/charts/podinfo`, digest: sha256(chart), size: chart.length, mediaType: 'application/gzip' },
      digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'genericBlobDigest/v1', value: sha256(chart).slice(7) },
    };
    const b = await openResourceAccess(owner, blob, { oci: connector.connect });
    if (b.kind !== 'blob') throw new Error('expected blob');
    expect((await readBounded(await b.open(), 1 << 24, 'blob')).equals(chart)).toBe(true);
    // localBlob that is not stored locally, reachable through globalAccess
    const local: Resource = {
      name: 'local',
      version: '1',
      type: 'helmChart',
      relation: 'local',
      access: { type: 'localBlob', localReference: sha256(chart), mediaType: 'application/gzip', globalAccess: blob.access! },
      digest: blob.digest!,
    };
    await pushComponentVersion(connector.connect, `http://${host}/acc`, { descriptor: { ...owner, resources: [] } });
    const repo = await openRepository({ type: 'OCIRegistry', baseUrl: `http://${host}/acc` }, { oci: connector.connect });
    const l = await openResourceAccess(owner, local, { repository: repo, oci: connector.connect });
    if (l.kind !== 'blob') throw new Error('expected blob');
    expect((await readBounded(await l.open(), 1 << 24, 'local')).equals(chart)).toBe(true);
  });
});
