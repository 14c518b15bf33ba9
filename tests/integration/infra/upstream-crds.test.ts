/**
 * The upstream CRD list (tests/infra/upstream-crds.txt + tests/fixtures/upstream/crds) resolves to real CRD files in
 * the Go module cache, each of the group the list claims, covering every upstream kind our manifests and stages use.
 */
import { describe, expect, it } from 'vitest';
import { loadCrds } from '../../infra/kube.js';
import { upstreamCrdFiles } from '../../infra/upstream-crds.js';

describe('upstream CRDs from Go modules and fixtures', () => {
  it('every listed file is one CRD, and the set covers the kinds we depend on', async () => {
    const files = upstreamCrdFiles();
    const crds = await loadCrds(files);
    expect(crds).toHaveLength(files.length);
    expect(crds.map((c) => c.metadata?.name).sort()).toEqual([
      'apiserversources.sources.knative.dev',
      'brokers.eventing.knative.dev',
      'buckets.source.toolkit.fluxcd.io',
      'configurations.serving.knative.dev',
      'externalartifacts.source.toolkit.fluxcd.io',
      'gitrepositories.source.toolkit.fluxcd.io',
      'helmcharts.source.toolkit.fluxcd.io',
      'helmreleases.helm.toolkit.fluxcd.io',
      'helmrepositories.source.toolkit.fluxcd.io',
      'kustomizations.kustomize.toolkit.fluxcd.io',
      'ocirepositories.source.toolkit.fluxcd.io',
      'pingsources.sources.knative.dev',
      'revisions.serving.knative.dev',
      'routes.serving.knative.dev',
      'services.serving.knative.dev',
      'sinkbindings.sources.knative.dev',
      'triggers.eventing.knative.dev',
    ]);
  });

  it('a group filter returns only CRDs of that group', async () => {
    for (const group of ['source.toolkit.fluxcd.io', 'helm.toolkit.fluxcd.io', 'sources.knative.dev']) {
      const crds = await loadCrds(upstreamCrdFiles(group));
      expect(crds.length).toBeGreaterThan(0);
      for (const c of crds) expect(c.spec.group).toBe(group);
    }
    const two = await loadCrds(upstreamCrdFiles('serving.knative.dev', 'eventing.knative.dev'));
    expect(new Set(two.map((c) => c.spec.group))).toEqual(new Set(['serving.knative.dev', 'eventing.knative.dev']));
  });

  it('an unknown group is an error naming it', () => {
    expect(() => upstreamCrdFiles('example.com')).toThrow(/no upstream CRD of the group example\.com/);
  });
});
