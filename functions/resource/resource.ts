import { Reason, type ComponentObject, type KubePort, type ObjectKey, type ResourceObject } from '../../shared/ports/index.js';
import { assertInputUnchanged, readComponentSet, readySnapshotOf } from '../../shared/stagekit/dependencies.js';
import { inputDigest } from '../../shared/stagekit/input-digest.js';
import { reconcileObject } from '../../shared/stagekit/reconcile.js';
import type { Applied, ObjectResult } from '../../shared/stagekit/results.js';
import { recordSnapshot, snapshotKeyFor, snapshotRefOf, upToDateSnapshot } from '../../shared/stagekit/snapshots.js';
import { step } from '../../shared/stagekit/step.js';
import type { ResourceDeps } from './deps.js';
import { fetchAndPush, identityOf } from './fetch-and-push.js';
import { parseResource } from './spec.js';

/** Resolves the Resource in its Component's descriptors and records its artifact, unless the input digest is unchanged. */
export async function reconcileResource(deps: ResourceDeps, key: ObjectKey, selfEvent: boolean): Promise<ObjectResult> {
  const { kube, store, ocm } = deps;
  return reconcileObject<ResourceObject>(deps, key, async (obj): Promise<Applied> => {
    const input = parseResource(obj);
    const current = { resource: obj.status?.resource, component: obj.status?.component, snapshotRef: obj.status?.snapshotRef };
    // Our own status patches come back as update events; the input-digest check below is cheap (two GETs and
    // one HEAD), so even those go through it rather than a shortcut that could keep a stale result.
    void selfEvent;
    const { owner: component, snapshot: compSnap } = await readySnapshotOf<ComponentObject>(
      kube,
      'Component',
      key.namespace,
      input.componentName,
    );
    const digest = inputDigest('resource', {
      identity: input.identity,
      referencePath: input.referencePath,
      skipVerify: input.skipVerify,
      components: compSnap.spec!.digest,
    });
    const existing = await upToDateSnapshot(deps, obj, digest);
    if (existing && obj.status?.resource) {
      return { outcome: 'unchanged', message: messageFor(obj.status.resource), fields: current };
    }
    const setYaml = await readComponentSet(deps, compSnap);
    const resolved = await step(Reason.ResolveResourceFailed, () =>
      ocm.resolveResource({ setYaml, identity: input.identity, referencePath: input.referencePath }),
    );
    const pushed = await fetchAndPush(deps, obj, component, resolved, input.skipVerify);
    const snapshot = await recordSnapshot(deps, obj, pushed, identityOf(resolved), digest, compSnap);
    await assertInputUnchanged(kube, compSnap, `Resource ${key.name}`);
    const r = resolved.resource;
    const mediaType = typeof r.access['mediaType'] === 'string' ? r.access['mediaType'] : undefined;
    const resourceStatus = {
      name: r.name,
      type: r.type,
      ...(r.version ? { version: r.version } : {}),
      ...(r.extraIdentity ? { extraIdentity: r.extraIdentity } : {}),
      access: r.access,
      ...(r.digest?.value ? { digest: `${r.digest.hashAlgorithm ?? ''}:${r.digest.normalisationAlgorithm ?? ''}:${r.digest.value}` } : {}),
      ...(mediaType ? { mediaType } : {}),
    };
    return {
      outcome: 'applied',
      snapshot: snapshotRefOf(store, snapshot),
      message: messageFor(resourceStatus),
      fields: {
        resource: resourceStatus,
        component: { name: resolved.owner.name, version: resolved.owner.version },
        snapshotRef: { name: snapshotKeyFor(obj).name },
      },
    };
  });
}

/** The Resources that take their resource from Component `componentName`. */
export async function resourcesOfComponent(kube: KubePort, namespace: string, componentName: string): Promise<ObjectKey[]> {
  const all = await kube.list<ResourceObject>('Resource', namespace);
  return all
    .filter((r) => r.spec?.componentRef?.name === componentName)
    .map((r) => ({ kind: 'Resource' as const, namespace, name: r.metadata.name }));
}

function messageFor(r: { name: string; version?: string }): string {
  return `Applied resource ${r.name}${r.version ? ` version ${r.version}` : ''}`;
}
