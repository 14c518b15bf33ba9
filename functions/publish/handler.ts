/**
 * The publish stage (docs/design.md §4): a Publication becomes a Flux OCIRepository pinned to its source's Snapshot.
 * This file routes hints; the work is in publication.ts and flux.ts.
 */
import { API_VERSION, type Hint, type PublicationObject, type SnapshotObject, type Stage, type StageResult } from '../../shared/ports/index.js';
import { hintKey, resyncScope, snapshotOwner, snapshotOwnerFromHint } from '../../shared/stagekit/hints.js';
import { reconcileAll } from '../../shared/stagekit/reconcile.js';
import { withReplies } from '../../shared/stagekit/replies.js';
import type { PublishDeps } from './deps.js';
import { publicationsOf, reconcilePublication, sweepOCIRepositories } from './publication.js';

export function createPublishStage(deps: PublishDeps): Stage {
  return withReplies({ name: 'publish', routes: routesPublish, handle: (hint) => handlePublishHint(deps, hint) }, API_VERSION);
}

/** Publications, the Snapshots Resources and Configurations own, and every resync tick. */
function routesPublish(hint: Hint): boolean {
  if (hint.type === 'resync') return true;
  if (hint.ref.kind === 'Publication') return true;
  const owner = snapshotOwnerFromHint(hint)?.kind;
  return owner === 'Resource' || owner === 'Configuration';
}

async function handlePublishHint(deps: PublishDeps, hint: Hint): Promise<StageResult> {
  const { kube } = deps;
  if (hint.type === 'resync') {
    const { namespace: ns, wants } = resyncScope(hint);
    await sweepOCIRepositories(kube, ns);
    const all = wants('Publication') ? await kube.list<PublicationObject>('Publication', ns) : [];
    const keys = all.map((p) => ({ kind: 'Publication' as const, namespace: p.metadata.namespace, name: p.metadata.name }));
    return { objects: await reconcileAll(keys, (k) => reconcilePublication(deps, k, false)) };
  }
  const key = hintKey(hint)!;
  if (key.kind === 'Publication') {
    if (hint.action === 'delete') {
      const gone = await sweepOCIRepositories(kube, key.namespace, key.name);
      return { objects: gone.map((name) => ({ kind: 'OCIRepository', namespace: key.namespace, name, outcome: 'deleted' as const })) };
    }
    return { objects: [await reconcilePublication(deps, key, true)] };
  }
  if (key.kind !== 'Snapshot') return { objects: [] };
  const snap = await kube.get<SnapshotObject>(key);
  const owner = (snap && snapshotOwner(snap)) ?? snapshotOwnerFromHint(hint);
  if (!owner || (owner.kind !== 'Resource' && owner.kind !== 'Configuration')) return { objects: [] };
  const keys = await publicationsOf(kube, key.namespace, owner.kind, owner.name);
  return { objects: await reconcileAll(keys, (k) => reconcilePublication(deps, k, false)) };
}
