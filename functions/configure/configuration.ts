import { MediaType } from '../../shared/oci/media-types.js';
import {
  ObjectFailure,
  Reason,
  type ConfigurationObject,
  type KubePort,
  type ObjectKey,
  type SnapshotObject,
  type Substitution,
  type TargetRef,
} from '../../shared/ports/index.js';
import { isReadyCurrent } from '../../shared/kube/conditions.js';
import { assertInputUnchanged, fetchInputLayer, readySnapshotOf } from '../../shared/stagekit/dependencies.js';
import { inputDigest } from '../../shared/stagekit/input-digest.js';
import { repositoryName } from '../../shared/stagekit/names.js';
import { reconcileObject } from '../../shared/stagekit/reconcile.js';
import { recordedFailure, type Applied, type ObjectResult } from '../../shared/stagekit/results.js';
import { inputStillCurrent, recordSnapshot, snapshotKeyFor, snapshotRefOf, upToDateSnapshot } from '../../shared/stagekit/snapshots.js';
import { step } from '../../shared/stagekit/step.js';
import type { ConfigureDeps } from './deps.js';
import { loadRules } from './load-rules.js';
import { substitutions } from './substitutions.js';

/** spec.target: a Resource or another Configuration, never the Configuration itself. */
export function parseTarget(obj: ConfigurationObject): TargetRef {
  const t = obj.spec?.target;
  if (!t || (t.kind !== 'Resource' && t.kind !== 'Configuration') || !t.name) {
    throw new ObjectFailure(Reason.SpecInvalid, `Configuration ${obj.metadata.name}: spec.target needs kind Resource or Configuration and a name`);
  }
  if (t.kind === 'Configuration' && t.name === obj.metadata.name) {
    throw new ObjectFailure(Reason.SpecInvalid, `Configuration ${obj.metadata.name}: spec.target cannot be the Configuration itself`);
  }
  return t;
}

/** Applies the rules to the target's artifact and records the result, unless the input digest is unchanged. */
export async function reconcileConfiguration(deps: ConfigureDeps, key: ObjectKey, selfEvent: boolean): Promise<ObjectResult> {
  const { kube } = deps;
  return reconcileObject<ConfigurationObject>(deps, key, async (obj): Promise<Applied> => {
    const target = parseTarget(obj);
    if (selfEvent) {
      const kept = await stillConfigured(kube, obj);
      if (kept) return kept;
    }
    const { snapshot: targetSnap } = await readySnapshotOf(kube, target.kind, key.namespace, target.name);
    const rules = await loadRules(deps, obj);
    const { subs, componentsDigest } = await substitutions(deps, obj, target, rules);
    const digest = inputDigest('configure', { target: targetSnap.spec!.digest, substitutions: subs, componentsDigest });
    const message = `Configured ${target.kind} ${target.name} (${subs.length} substitution${subs.length === 1 ? '' : 's'})`;
    const existing = await upToDateSnapshot(deps, obj, digest);
    if (existing) {
      return { outcome: 'unchanged', message, fields: { snapshotRef: { name: existing.metadata.name }, digest: existing.spec!.digest } };
    }
    const snap = await configureAndRecord(deps, obj, targetSnap, subs, digest);
    return {
      outcome: 'applied',
      message,
      snapshot: snapshotRefOf(deps.store, snap),
      fields: { snapshotRef: { name: snap.metadata.name }, digest: snap.spec!.digest },
    };
  });
}

/**
 * On an event about the Configuration itself (our own status patches come back as such): the result to keep when
 * its status already describes this generation and its Snapshot still matches its input; a failure already
 * recorded is repeated; undefined means work.
 */
async function stillConfigured(kube: KubePort, obj: ConfigurationObject): Promise<Applied | undefined> {
  if (obj.status?.observedGeneration !== obj.metadata.generation) return undefined;
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  if (!ready) return undefined;
  if (ready.status !== 'True') throw recordedFailure(ready);
  const snap = await kube.get<SnapshotObject>(snapshotKeyFor(obj));
  if (snap && !snap.metadata.deletionTimestamp && isReadyCurrent(snap) && (await inputStillCurrent(kube, snap))) {
    return { outcome: 'unchanged', message: ready.message, fields: { snapshotRef: obj.status?.snapshotRef, digest: obj.status?.digest } };
  }
  return undefined;
}

/** Applies `subs` to the target Snapshot's layer, pushes the result and records the Configuration's Snapshot. */
async function configureAndRecord(
  deps: ConfigureDeps,
  obj: ConfigurationObject,
  targetSnap: SnapshotObject,
  subs: Substitution[],
  digest: string,
): Promise<SnapshotObject> {
  const { kube, store, engine } = deps;
  const target = targetSnap.spec!;
  const input = await step(Reason.TargetFetchFailed, () => fetchInputLayer(kube, store, targetSnap, Reason.TargetIsNotReady));
  try {
    // the layer, not the Snapshot's blob: a Helm chart copied whole from a registry (an ociArtifact resource) has
    // its manifest as the Snapshot's blob, and its chart layer must read the same as our single-layer Helm artifact
    const helm = input.mediaType === MediaType.HelmChart;
    const output = await step(Reason.ConfigurationFailed, () => engine.apply(input, subs, { helm }));
    try {
      const identity = { ...target.identity, 'configuration-name': obj.metadata.name };
      const componentName = target.identity['component-name'];
      const componentVersion = target.identity['component-version'];
      const pushed = await step(Reason.PushSnapshotFailed, () =>
        store.pushSingleLayer({
          repository: repositoryName(obj.metadata.namespace, 'Configuration', obj.metadata.name),
          tag: target.tag,
          kind: helm ? 'helm-chart' : 'blob',
          content: output,
          ...(target.identity['resource-name'] ? { resourceName: target.identity['resource-name'] } : {}),
          annotations: {
            ...(componentName && componentVersion ? { component: { name: componentName, version: componentVersion } } : {}),
            identity,
          },
        }),
      );
      const snap = await recordSnapshot(deps, obj, pushed, identity, digest, targetSnap);
      await assertInputUnchanged(kube, targetSnap, `Configuration ${obj.metadata.name}`);
      return snap;
    } finally {
      await output.dispose();
    }
  } finally {
    await input.dispose();
  }
}

/** The Configurations that target `kind/name`, or read their rules from Resource `name`. */
export async function dependents(kube: KubePort, namespace: string, kind: string, name: string): Promise<ObjectKey[]> {
  const all = await kube.list<ConfigurationObject>('Configuration', namespace);
  return all
    .filter(
      (c) =>
        (c.spec?.target?.kind === kind && c.spec.target.name === name) ||
        (kind === 'Resource' && c.spec?.configRef?.kind === 'Resource' && c.spec.configRef.name === name),
    )
    .map((c) => ({ kind: 'Configuration' as const, namespace, name: c.metadata.name }));
}
