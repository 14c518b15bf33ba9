import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imageReferenceOf } from '../../../functions/configure/substitutions.js';
import { parseRules } from '../../../functions/configure/rules.js';
import { layerSelectorFor } from '../../../functions/publish/flux.js';
import { BadEventError, ObjectFailure, TransientError, isTransient, type Hint } from '../../../shared/ports/index.js';
import { snapshotOwnerFromHint } from '../../../shared/stagekit/hints.js';
import { canonicalJson, inputDigest } from '../../../shared/stagekit/input-digest.js';
import { ownerFromSnapshotName, snapshotName, tagFor } from '../../../shared/stagekit/names.js';
import { classify } from '../../../shared/stagekit/step.js';
import { harness } from './harness.js';

describe('names and digests', () => {
  it('Snapshot names are <kind>-<owner>, hashed when longer than 253, and parse back', () => {
    expect(snapshotName('Component', 'podinfo')).toBe('component-podinfo');
    expect(ownerFromSnapshotName('configuration-chart')).toEqual({ kind: 'Configuration', name: 'chart' });
    expect(ownerFromSnapshotName('probe')).toBeUndefined();
    const long = snapshotName('Configuration', 'a'.repeat(300));
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/^configuration-a+-[0-9a-f]{10}$/);
    expect(snapshotName('Configuration', 'a'.repeat(300))).toBe(long);
    expect(snapshotName('Configuration', `${'a'.repeat(299)}b`)).not.toBe(long);
  });

  it('tags: + becomes .build-, other characters outside the grammar are replaced', () => {
    expect(tagFor('1.0.0+build.5')).toBe('1.0.0.build-build.5');
    expect(tagFor('v1.2.3')).toBe('v1.2.3');
    expect(tagFor('.hidden')).toMatch(/^[A-Za-z0-9_]/);
  });

  it('the input digest ignores key order and changes with any value (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue(), { maxKeys: 8 }), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(inputDigest('resource', obj)).toBe(inputDigest('resource', reversed));
        expect(inputDigest('resource', obj)).not.toBe(inputDigest('configure', obj));
        expect(inputDigest('resource', { ...obj, __extra: 1 })).not.toBe(inputDigest('resource', obj));
      }),
    );
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});

describe('error classification', () => {
  it('separates object failures from retryable ones', () => {
    expect(classify(new Error('bad yaml'), 'ConfigurationFailed')).toBeInstanceOf(ObjectFailure);
    expect(classify(Object.assign(new Error('down'), { code: 'ECONNREFUSED' }), 'PushSnapshotFailed')).toBeInstanceOf(TransientError);
    expect(classify(Object.assign(new Error('busy'), { status: 503 }), 'PushSnapshotFailed')).toBeInstanceOf(TransientError);
    expect(isTransient(Object.assign(new Error('conflict'), { transient: true }))).toBe(true);
    expect(isTransient(Object.assign(new Error('forbidden'), { statusCode: 403 }))).toBe(false);
    // registry clients wrap socket errors: look through the cause chain
    const wrapped = new Error('push failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    expect(isTransient(wrapped)).toBe(true);
    expect(isTransient(Object.assign(new Error('registry gave up'), { name: 'TransientError' }))).toBe(true);
    expect(isTransient(new Error('plain'))).toBe(false);
  });
});

describe('configure rules', () => {
  it('accepts values and localizations, in order', () => {
    const rules = parseRules(
      [
        { yamlsubst: { source: { value: 3 }, target: { file: { path: 'values.yaml', value: 'replicaCount' } } } },
        {
          yamlsubst: {
            source: { resource: { name: 'image' }, referencePath: [{ name: 'dep' }] },
            target: { file: { path: 'values.yaml', value: 'image.tag' } },
            transformation: { type: 'Tag' },
          },
        },
      ],
      'spec.rules',
    );
    expect(rules).toEqual([
      { file: 'values.yaml', path: 'replicaCount', value: 3 },
      { file: 'values.yaml', path: 'image.tag', resource: { name: 'image' }, referencePath: [{ name: 'dep' }], transformation: 'Tag' },
    ]);
  });

  it.each([
    [[], 'non-empty'],
    [[{ goTemplate: { file: { path: 'a' } } }], 'goTemplate'],
    [[{ yamlsubst: { source: { value: 1 }, target: { file: { path: '../etc/passwd', value: 'a' } } } }], 'inside the archive'],
    [[{ yamlsubst: { source: {}, target: { file: { path: 'a.yaml', value: 'a' } } } }], 'exactly one of value or resource'],
    [[{ yamlsubst: { source: { resource: { name: 'i' } }, target: { file: { path: 'a.yaml', value: 'a' } }, transformation: { type: 'Digest' } } }], 'one of Image'],
  ])('rejects %j with a message naming the problem', (rules, message) => {
    expect(() => parseRules(rules, 'spec.rules')).toThrow(message as string);
    try {
      parseRules(rules, 'spec.rules');
    } catch (err) {
      expect((err as ObjectFailure).reason).toBe('SpecInvalid');
    }
  });

  it('finds image references per access type', () => {
    expect(imageReferenceOf({ type: 'ociArtifact', imageReference: 'ghcr.io/a/b:1' })).toBe('ghcr.io/a/b:1');
    expect(imageReferenceOf({ type: 'ociBlob', ref: 'ghcr.io/a/b', digest: 'sha256:ab' })).toBe('ghcr.io/a/b@sha256:ab');
    expect(imageReferenceOf({ type: 'localBlob', localReference: 'x', globalAccess: { type: 'ociArtifact', imageReference: 'r/x:1' } })).toBe('r/x:1');
    expect(imageReferenceOf({ type: 'localBlob', localReference: 'x' })).toBeUndefined();
  });
});

describe('publish', () => {
  it('picks the Flux layerSelector from the layer media type', () => {
    expect(layerSelectorFor('application/vnd.cncf.helm.chart.content.v1.tar+gzip')).toEqual({
      mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
      operation: 'copy',
    });
    expect(layerSelectorFor('application/vnd.oci.image.layer.v1.tar+gzip')).toEqual({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      operation: 'extract',
    });
    expect(layerSelectorFor('application/vnd.oci.image.index.v1+json')).toBeUndefined();
    expect(layerSelectorFor('x', { mediaType: 'y', operation: 'copy' })).toEqual({ mediaType: 'y', operation: 'copy' });
  });
});

describe('routing', () => {
  const snap = (name: string, owner?: string): Hint => ({
    type: 'object',
    action: 'update',
    ref: { kind: 'Snapshot', namespace: 'n', name },
    ...(owner
      ? {
          object: {
            apiVersion: 'serverless.ocm.software/v1alpha1',
            kind: 'Snapshot',
            metadata: { name, namespace: 'n', ownerReferences: [{ apiVersion: 'serverless.ocm.software/v1alpha1', kind: owner, name: 'x', uid: 'u', controller: true }] },
          },
        }
      : {}),
  });

  it('routes each kind and Snapshot owner to the stages of docs/design.md §4, in Resource and Reference mode', async () => {
    const h = await harness();
    try {
      const routed = (hint: Hint) => h.stages.filter((s) => s.routes(hint)).map((s) => s.name);
      const obj = (kind: string): Hint => ({ type: 'object', action: 'add', ref: { kind, namespace: 'n', name: 'x' } });
      expect(routed(obj('Component'))).toEqual(['descriptor']);
      expect(routed(obj('OCMRepository'))).toEqual(['descriptor']);
      expect(routed(obj('Resource'))).toEqual(['resource']);
      expect(routed(obj('Configuration'))).toEqual(['configure']);
      expect(routed(obj('Publication'))).toEqual(['publish']);
      expect(routed({ type: 'resync' })).toEqual(['descriptor', 'resource', 'configure', 'publish']);
      // Resource mode (owner from the payload) and Reference mode (owner from the deterministic name) agree
      expect(routed(snap('component-x', 'Component'))).toEqual(['descriptor', 'resource']);
      expect(routed(snap('component-x'))).toEqual(['descriptor', 'resource']);
      expect(routed(snap('resource-x'))).toEqual(['resource', 'configure', 'publish']);
      expect(routed(snap('configuration-x', 'Configuration'))).toEqual(['configure', 'publish']);
      expect(routed(snap('unrelated'))).toEqual([]);
      expect(snapshotOwnerFromHint(snap('whatever', 'Resource'))).toMatchObject({ kind: 'Resource', name: 'x' });
      // events about kinds that are not ours are a problem of the event (422), at every stage
      const foreign: Hint = { type: 'object', action: 'add', ref: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'n', name: 'd' } };
      for (const stage of h.stages) {
        expect(stage.routes(foreign)).toBe(true);
        await expect(stage.handle(foreign)).rejects.toThrow(/Deployment is not one of ours/);
        await expect(stage.handle(foreign)).rejects.toBeInstanceOf(BadEventError);
      }
      const widget: Hint = { type: 'object', action: 'add', ref: { apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'Widget', namespace: 'n', name: 'w' } };
      await expect(h.stages[0]!.handle(widget)).rejects.toThrow(/Widget/);
      const flux: Hint = { type: 'object', action: 'update', ref: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'OCIRepository', namespace: 'n', name: 'o' } };
      expect(routed(flux)).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
