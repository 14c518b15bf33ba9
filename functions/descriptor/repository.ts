import { Reason, type OCMRepositoryObject, type ObjectKey, type RepositoryAccess } from '../../shared/ports/index.js';
import { isReadyCurrent } from '../../shared/kube/conditions.js';
import { dockerConfigFrom } from '../../shared/stagekit/credentials.js';
import { checkedFields, checkNotDue, intervalOf, newReconcileRequest } from '../../shared/stagekit/interval.js';
import { reconcileObject } from '../../shared/stagekit/reconcile.js';
import { parseRepositorySpec, repositoryUrl } from '../../shared/stagekit/repository.js';
import type { ObjectResult } from '../../shared/stagekit/results.js';
import { step } from '../../shared/stagekit/step.js';
import { nowMs, type DescriptorDeps } from './deps.js';

/** How the ports reach an OCMRepository: its parsed spec and, when it names one, its registry Secret. */
export async function repositoryAccess(deps: DescriptorDeps, repo: OCMRepositoryObject): Promise<RepositoryAccess> {
  const spec = parseRepositorySpec(repo);
  const dockerConfig = await dockerConfigFrom(deps.kube, repo, repo.spec?.secretRef?.name, 'spec.secretRef');
  return { spec, ...(dockerConfig ? { dockerConfig } : {}) };
}

/**
 * Checks that the repository is reachable. `event`: an event on the repository, skipped when its status already
 * describes this generation as Ready (our own status patches, lastCheckedAt included, come back as update events);
 * `tick`: a resync tick, which leaves a Ready repository alone until its spec.interval has passed.
 */
export async function reconcileRepository(deps: DescriptorDeps, key: ObjectKey, mode: 'event' | 'tick'): Promise<ObjectResult> {
  return reconcileObject<OCMRepositoryObject>(deps, key, async (repo) => {
    const spec = parseRepositorySpec(repo);
    const message = `repository ${repositoryUrl(spec)} is reachable`;
    const skip =
      mode === 'tick'
        ? checkNotDue(repo, intervalOf(repo), nowMs(deps))
        : isReadyCurrent(repo) && repo.status?.lastCheckedAt !== undefined && newReconcileRequest(repo) === undefined;
    if (skip) return { outcome: 'unchanged', message, fields: {} };
    const access = await repositoryAccess(deps, repo);
    await step(Reason.RepositorySpecInvalid, () => deps.ocm.checkRepository(access));
    return { outcome: 'unchanged', message, fields: { ...checkedFields(repo, nowMs(deps)) } };
  });
}
