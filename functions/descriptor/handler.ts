/**
 * The descriptor stage (docs/design.md §4): OCMRepository reachability, Component version resolution and the
 * component-descriptors Snapshot. This file routes hints; the work is in repository.ts and component.ts.
 */
import { API_VERSION, Reason, type Hint, type SnapshotObject, type Stage, type StageResult } from '../../shared/ports/index.js';
import { hintKey, resyncScope, snapshotOwner, snapshotOwnerFromHint } from '../../shared/stagekit/hints.js';
import { lostOutput } from '../../shared/stagekit/lost-output.js';
import { reconcileAll } from '../../shared/stagekit/reconcile.js';
import { withReplies } from '../../shared/stagekit/replies.js';
import type { ObjectResult } from '../../shared/stagekit/results.js';
import { finalizeSnapshot, sweepOrphans } from '../../shared/stagekit/snapshot-cleanup.js';
import { componentsOf, reconcileComponent } from './component.js';
import type { DescriptorDeps } from './deps.js';
import { reconcileRepository } from './repository.js';

export function createDescriptorStage(deps: DescriptorDeps): Stage {
  return withReplies({ name: 'descriptor', routes: routesDescriptor, handle: (hint) => handleDescriptorHint(deps, hint) }, API_VERSION);
}

/** Components and OCMRepositories, the Snapshots Components own, and every resync tick. */
function routesDescriptor(hint: Hint): boolean {
  if (hint.type === 'resync') return true;
  if (hint.ref.kind === 'Component' || hint.ref.kind === 'OCMRepository') return true;
  return snapshotOwnerFromHint(hint)?.kind === 'Component';
}

async function handleDescriptorHint(deps: DescriptorDeps, hint: Hint): Promise<StageResult> {
  const { kube } = deps;
  if (hint.type === 'resync') return { objects: await resync(deps, hint) };
  const key = hintKey(hint)!;
  switch (key.kind) {
    case 'OCMRepository': {
      const repoResult = await reconcileRepository(deps, key, 'event');
      const dependents = await reconcileAll(await componentsOf(kube, key.namespace, key.name), (k) =>
        reconcileComponent(deps, k, 'dependency'),
      );
      return { objects: [repoResult, ...dependents] };
    }
    case 'Component': {
      if (hint.action === 'delete') {
        const gone = await sweepOrphans(deps, 'Component', key.namespace, { name: key.name });
        return { objects: gone.map((n) => ({ kind: 'Snapshot', namespace: key.namespace, name: n.split('/')[1]!, outcome: 'deleted' })) };
      }
      if (hint.lost) {
        if (!(await lostOutput(deps, key, hint.lost))) return { objects: [{ ...key, outcome: 'unchanged', reason: Reason.NotCurrentOutput }] };
        // the manifest is confirmed gone (and forgotten): a tick's check finds it missing and pushes it again
        return { objects: [await reconcileComponent(deps, key, 'tick')] };
      }
      return { objects: [await reconcileComponent(deps, key, 'self')] };
    }
    case 'Snapshot': {
      const snap = await kube.get<SnapshotObject>(key);
      if (snap && (await finalizeSnapshot(deps, snap))) {
        return { objects: [{ ...key, outcome: 'deleted' }] };
      }
      if (snap && hint.action !== 'delete') return { objects: [{ ...key, outcome: 'skipped' }] };
      // Our Snapshot is gone: recreate it if its Component still exists.
      const owner = (snap && snapshotOwner(snap)) ?? snapshotOwnerFromHint(hint);
      if (!owner || owner.kind !== 'Component') return { objects: [] };
      return { objects: [await reconcileComponent(deps, { kind: 'Component', namespace: key.namespace, name: owner.name }, 'full')] };
    }
    default:
      return { objects: [] };
  }
}

/** A resync tick: repositories due for a check, Snapshots being deleted, orphans, then Components due for a check. */
async function resync(deps: DescriptorDeps, hint: Hint): Promise<ObjectResult[]> {
  const { kube } = deps;
  const scope = resyncScope(hint);
  const ns = scope.namespace;
  const results: ObjectResult[] = [];
  const repos = scope.wants('OCMRepository') ? await kube.list('OCMRepository', ns) : [];
  results.push(
    ...(await reconcileAll(
      repos.map((r) => ({ kind: 'OCMRepository' as const, namespace: r.metadata.namespace, name: r.metadata.name })),
      (k) => reconcileRepository(deps, k, 'tick'),
    )),
  );
  const snaps = await kube.list<SnapshotObject>('Snapshot', ns);
  for (const s of snaps) {
    if (s.metadata.deletionTimestamp && snapshotOwner(s)?.kind === 'Component') await finalizeSnapshot(deps, s);
  }
  await sweepOrphans(deps, 'Component', ns);
  if (scope.wants('Component')) {
    results.push(...(await reconcileAll(await componentsOf(kube, ns), (k) => reconcileComponent(deps, k, 'tick'))));
  }
  return results;
}
