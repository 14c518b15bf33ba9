/**
 * The configure stage (docs/design.md §4): a Configuration's rules applied to its target's artifact. This file
 * routes hints; the work is in configuration.ts, load-rules.ts and substitutions.ts.
 */
import { API_VERSION, type Hint, type SnapshotObject, type Stage, type StageResult } from '../../shared/ports/index.js';
import { hintKey, snapshotOwner, snapshotOwnerFromHint } from '../../shared/stagekit/hints.js';
import { handleProducerHint } from '../../shared/stagekit/producer-hints.js';
import { reconcileAll } from '../../shared/stagekit/reconcile.js';
import { withReplies } from '../../shared/stagekit/replies.js';
import type { ObjectResult } from '../../shared/stagekit/results.js';
import { finalizeSnapshot } from '../../shared/stagekit/snapshot-cleanup.js';
import { dependents, reconcileConfiguration } from './configuration.js';
import type { ConfigureDeps } from './deps.js';

export function createConfigureStage(deps: ConfigureDeps): Stage {
  return withReplies({ name: 'configure', routes: routesConfigure, handle: (hint) => handleConfigureHint(deps, hint) }, API_VERSION);
}

/** Configurations, the Snapshots Resources and Configurations own, and every resync tick. */
function routesConfigure(hint: Hint): boolean {
  if (hint.type === 'resync') return true;
  if (hint.ref.kind === 'Configuration') return true;
  const owner = snapshotOwnerFromHint(hint)?.kind;
  return owner === 'Resource' || owner === 'Configuration';
}

async function handleConfigureHint(deps: ConfigureDeps, hint: Hint): Promise<StageResult> {
  const { kube } = deps;
  const own = await handleProducerHint(deps, 'Configuration', hint, (key, self) => reconcileConfiguration(deps, key, self));
  if (own || hint.type !== 'object') return own ?? { objects: [] };
  const key = hintKey(hint)!;
  if (key.kind !== 'Snapshot') return { objects: [] };
  const snap = await kube.get<SnapshotObject>(key);
  const owner = (snap && snapshotOwner(snap)) ?? snapshotOwnerFromHint(hint);
  if (!owner || (owner.kind !== 'Resource' && owner.kind !== 'Configuration')) return { objects: [] };
  const results: ObjectResult[] = [];
  if (owner.kind === 'Configuration') {
    if (snap && (await finalizeSnapshot(deps, snap))) {
      results.push({ ...key, outcome: 'deleted' });
    } else if (!snap || hint.action === 'delete') {
      results.push(await reconcileConfiguration(deps, { kind: 'Configuration', namespace: key.namespace, name: owner.name }, false));
    }
  }
  const keys = await dependents(kube, key.namespace, owner.kind, owner.name);
  results.push(...(await reconcileAll(keys, (k) => reconcileConfiguration(deps, k, false))));
  return { objects: results };
}
