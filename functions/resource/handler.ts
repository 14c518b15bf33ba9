/**
 * The resource stage (docs/design.md §4): a Resource's artifact, copied from its Component's source into our
 * registry. This file routes hints; the work is in resource.ts and fetch-and-push.ts.
 */
import { API_VERSION, type Hint, type SnapshotObject, type Stage, type StageResult } from '../../shared/ports/index.js';
import { hintKey, snapshotOwner, snapshotOwnerFromHint } from '../../shared/stagekit/hints.js';
import { handleProducerHint } from '../../shared/stagekit/producer-hints.js';
import { reconcileAll } from '../../shared/stagekit/reconcile.js';
import { withReplies } from '../../shared/stagekit/replies.js';
import { finalizeSnapshot } from '../../shared/stagekit/snapshot-cleanup.js';
import type { ResourceDeps } from './deps.js';
import { reconcileResource, resourcesOfComponent } from './resource.js';

export function createResourceStage(deps: ResourceDeps): Stage {
  return withReplies({ name: 'resource', routes: routesResource, handle: (hint) => handleResourceHint(deps, hint) }, API_VERSION);
}

/** Resources, the Snapshots Components and Resources own, and every resync tick. */
function routesResource(hint: Hint): boolean {
  if (hint.type === 'resync') return true;
  if (hint.ref.kind === 'Resource') return true;
  const owner = snapshotOwnerFromHint(hint)?.kind;
  return owner === 'Component' || owner === 'Resource';
}

async function handleResourceHint(deps: ResourceDeps, hint: Hint): Promise<StageResult> {
  const { kube } = deps;
  const own = await handleProducerHint(deps, 'Resource', hint, (key, self) => reconcileResource(deps, key, self));
  if (own || hint.type !== 'object') return own ?? { objects: [] };
  const key = hintKey(hint)!;
  if (key.kind !== 'Snapshot') return { objects: [] };
  const snap = await kube.get<SnapshotObject>(key);
  const owner = (snap && snapshotOwner(snap)) ?? snapshotOwnerFromHint(hint);
  if (owner?.kind === 'Component') {
    const keys = await resourcesOfComponent(kube, key.namespace, owner.name);
    return { objects: await reconcileAll(keys, (k) => reconcileResource(deps, k, false)) };
  }
  if (owner?.kind === 'Resource') {
    if (snap && (await finalizeSnapshot(deps, snap))) return { objects: [{ ...key, outcome: 'deleted' }] };
    if (snap && hint.action !== 'delete') return { objects: [{ ...key, outcome: 'skipped' }] };
    return { objects: [await reconcileResource(deps, { kind: 'Resource', namespace: key.namespace, name: owner.name }, false)] };
  }
  return { objects: [] };
}
