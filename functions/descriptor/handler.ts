import {
  API_VERSION,
  ObjectFailure,
  Reason,
  type ArtifactStore,
  type ComponentObject,
  type Hint,
  type KubePort,
  type Logger,
  type OCMRepositoryObject,
  type ObjectKey,
  type OcmSource,
  type RepositoryAccess,
  type SnapshotObject,
  type Stage,
  type StageContext,
  type StageResult,
  type VerificationKey,
} from '../../shared/ports/index.js';
import { isReadyCurrent } from '../../shared/stagekit/conditions.js';
import { dockerConfigFrom } from '../../shared/stagekit/credentials.js';
import { hintKey, resyncScope, snapshotOwner, snapshotOwnerFromHint } from '../../shared/stagekit/hints.js';
import { inputDigest, sha256Hex } from '../../shared/stagekit/input-digest.js';
import { checkedFields, checkNotDue, intervalOf, newReconcileRequest } from '../../shared/stagekit/interval.js';
import { lostOutput } from '../../shared/stagekit/lost-output.js';
import { repositoryName } from '../../shared/stagekit/names.js';
import { reconcileAll, reconcileObject } from '../../shared/stagekit/reconcile.js';
import { withReplies } from '../../shared/stagekit/replies.js';
import { parseRepositorySpec, repositoryUrl } from '../../shared/stagekit/repository.js';
import { WaitingFor, recordedFailure, type Applied, type ObjectResult } from '../../shared/stagekit/results.js';
import { finalizeSnapshot, sweepOrphans } from '../../shared/stagekit/snapshot-cleanup.js';
import { recordSnapshot, snapshotKeyFor, snapshotRefOf, upToDateSnapshot } from '../../shared/stagekit/snapshots.js';
import { step } from '../../shared/stagekit/step.js';
import { blobFromBytes } from '../../shared/stagekit/temp.js';
import { parseComponent, type ComponentInput } from './spec.js';

export interface DescriptorDeps {
  kube: KubePort;
  store: ArtifactStore;
  ocm: OcmSource;
  log?: Logger;
  /** milliseconds since the epoch (tests pass their own to let an interval pass) */
  now?: () => number;
}

const DESCRIPTORS_MEDIA_TYPE = 'application/vnd.ocm.software.component-descriptors.v1+yaml';
/** the data key of a verify[] Secret that holds the Rekor log's public key (sigstore signatures) */
const REKOR_KEY = 'rekor.pub';

/**
 * How much to re-check a Component:
 * - self: an event on the Component itself; skip when its status already describes this generation (our own
 *   status patches come back as update events);
 * - dependency: something it depends on changed; skip only when it is Ready for this generation;
 * - tick: a resync tick; skip when it is Ready for this generation and spec.interval has not passed since the
 *   repository was last asked for versions (status.lastCheckedAt, shared/stagekit/interval.ts); otherwise resolve
 *   the version again, which is how new versions appear;
 * - full: lost output, or a new reconcile.fluxcd.io/requestedAt annotation; always resolve the version again.
 * Skipping always confirms that the Component's Snapshot is there and current, so lost output is never skipped.
 */
type Mode = 'self' | 'dependency' | 'tick' | 'full';

export function createDescriptorStage(deps: DescriptorDeps): Stage {
  const { kube, store, ocm } = deps;
  const now = deps.now ?? Date.now;

  async function access(repo: OCMRepositoryObject): Promise<RepositoryAccess> {
    const spec = parseRepositorySpec(repo);
    const dockerConfig = await dockerConfigFrom(kube, repo, repo.spec?.secretRef?.name, 'spec.secretRef');
    return { spec, ...(dockerConfig ? { dockerConfig } : {}) };
  }

  async function verificationKeys(obj: ComponentObject, input: ComponentInput): Promise<VerificationKey[]> {
    const keys: VerificationKey[] = [];
    for (const [i, v] of input.verify.entries()) {
      const identity = { ...(v.issuer ? { issuer: v.issuer } : {}), ...(v.subject ? { subject: v.subject } : {}) };
      if (v.value) {
        keys.push({ signature: v.signature, publicKeyPem: decodeKeyValue(v.value), ...identity });
        continue;
      }
      const secret = await step(Reason.ConfigFetchFailed, () => kube.getSecret(obj.metadata.namespace, v.secretRef!.name));
      if (!secret) {
        throw new ObjectFailure(
          Reason.ConfigFetchFailed,
          `Component ${obj.metadata.name}: spec.verify[${i}].secretRef Secret ${v.secretRef!.name} not found`,
        );
      }
      // Upstream convention: the key is stored under the signature name; accept a single-entry Secret too (the
      // Rekor key beside it aside).
      const rekor = v.signature === REKOR_KEY ? undefined : secret[REKOR_KEY];
      const entries = Object.entries(secret).filter(([k]) => k !== REKOR_KEY || v.signature === REKOR_KEY);
      const data = secret[v.signature] ?? (entries.length === 1 ? entries[0]![1] : undefined);
      if (!data) {
        throw new ObjectFailure(
          Reason.ConfigFetchFailed,
          `Component ${obj.metadata.name}: Secret ${v.secretRef!.name} has no key named ${v.signature}`,
        );
      }
      keys.push({ signature: v.signature, publicKeyPem: data.toString('utf8'), ...identity, ...(rekor ? { rekorKeyPem: rekor.toString('utf8') } : {}) });
    }
    return keys;
  }

  /**
   * Checks that the repository is reachable. `event`: an event on the repository, skipped when its status already
   * describes this generation as Ready (our own status patches, lastCheckedAt included, come back as update events);
   * `tick`: a resync tick, which leaves a Ready repository alone until its spec.interval has passed.
   */
  async function reconcileRepository(key: ObjectKey, mode: 'event' | 'tick'): Promise<ObjectResult> {
    return reconcileObject<OCMRepositoryObject>(deps, key, async (repo) => {
      const spec = parseRepositorySpec(repo);
      const message = `repository ${repositoryUrl(spec)} is reachable`;
      const skip =
        mode === 'tick'
          ? checkNotDue(repo, intervalOf(repo), now())
          : isReadyCurrent(repo) && repo.status?.lastCheckedAt !== undefined && newReconcileRequest(repo) === undefined;
      if (skip) return { outcome: 'unchanged', message, fields: {} };
      const dockerConfig = await dockerConfigFrom(kube, repo, repo.spec?.secretRef?.name, 'spec.secretRef');
      await step(Reason.RepositorySpecInvalid, () => ocm.checkRepository({ spec, ...(dockerConfig ? { dockerConfig } : {}) }));
      return { outcome: 'unchanged', message, fields: { ...checkedFields(repo, now()) } };
    });
  }

  async function reconcileComponent(key: ObjectKey, mode: Mode): Promise<ObjectResult> {
    return reconcileObject<ComponentObject>(deps, key, async (obj): Promise<Applied> => {
      const input = parseComponent(obj);
      const effective: Mode = newReconcileRequest(obj) !== undefined ? 'full' : mode;
      const current = { component: obj.status?.component, snapshotRef: obj.status?.snapshotRef };
      const skippable =
        effective === 'self'
          ? obj.status?.observedGeneration === obj.metadata.generation && obj.status?.conditions?.some((c) => c.type === 'Ready')
          : effective === 'dependency'
            ? isReadyCurrent(obj)
            : effective === 'tick' && checkNotDue(obj, input.intervalMs, now());
      if (skippable) {
        const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready?.status === 'True') {
          const snap = await kube.get<SnapshotObject>(snapshotKeyFor(obj));
          const usable = snap !== undefined && !snap.metadata.deletionTimestamp && isReadyCurrent(snap);
          // a tick also confirms the manifest itself (lost output is what ticks recover; a HEAD, remembered 10 s)
          const there =
            usable && (effective !== 'tick' || (await step(Reason.PushSnapshotFailed, () => store.hasManifest(snap.spec!.repository, snap.spec!.digest))));
          if (there) {
            return { outcome: 'unchanged', message: ready.message, fields: current };
          }
        } else if (ready) {
          // the failure is already recorded for this generation; dependencies retrigger us through their own events
          throw recordedFailure(ready);
        }
      }

      const repoKey = { kind: 'OCMRepository' as const, namespace: key.namespace, name: input.repositoryName };
      const repo = await kube.get<OCMRepositoryObject>(repoKey);
      if (!repo) {
        throw new WaitingFor(Reason.RepositoryIsNotReady, `OCMRepository ${input.repositoryName} not found`);
      }
      if (!isReadyCurrent(repo)) {
        const why = repo.status?.conditions?.find((c) => c.type === 'Ready')?.message;
        throw new WaitingFor(Reason.RepositoryIsNotReady, `OCMRepository ${input.repositoryName} is not ready${why ? `: ${why}` : ''}`);
      }
      const repoAccess = await access(repo);
      const checked = checkedFields(obj, now());
      const version = await step(Reason.CheckVersionFailed, () =>
        ocm.resolveVersion({
          repo: repoAccess,
          component: input.component,
          semver: input.semver,
          ...(input.semverFilter !== undefined ? { semverFilter: input.semverFilter } : {}),
          downgradePolicy: input.downgradePolicy,
          ...(obj.status?.component?.version ? { current: obj.status.component.version } : {}),
        }),
      );
      const keys = await verificationKeys(obj, input);
      const digest = inputDigest('descriptor', {
        component: input.component,
        version,
        repository: repoAccess.spec,
        // what the verification depends on: a new identity or Rekor key verifies again
        verify: keys.map((k) => ({
          signature: k.signature,
          key: sha256Hex(k.publicKeyPem),
          ...(k.issuer ? { issuer: k.issuer } : {}),
          ...(k.subject ? { subject: k.subject } : {}),
          ...(k.rekorKeyPem ? { rekor: sha256Hex(k.rekorKeyPem) } : {}),
        })),
      });
      const snapName = snapshotKeyFor(obj).name;
      const existing = await upToDateSnapshot(deps, obj, digest);
      if (existing) {
        return {
          outcome: 'unchanged',
          message: `Applied version ${version}`,
          fields: {
            component: { ...(obj.status?.component ?? {}), name: input.component, version, repositorySpec: repoAccess.spec },
            snapshotRef: { name: snapName },
            ...checked,
          },
        };
      }

      const set = await step(Reason.GetComponentDescriptorsFailed, () =>
        ocm.fetchComponentSet({ repo: repoAccess, component: input.component, version, verify: keys }),
      );
      const content = await blobFromBytes(set.yaml, DESCRIPTORS_MEDIA_TYPE, 'component-descriptors.yaml');
      let snapshot: SnapshotObject;
      try {
        const identity = { 'component-name': input.component, 'component-version': version };
        const pushed = await step(Reason.PushSnapshotFailed, () =>
          store.pushSingleLayer({
            repository: repositoryName(key.namespace, 'Component', key.name),
            tag: version,
            kind: 'component-descriptors',
            content,
            annotations: {
              source: repositoryUrl(repoAccess.spec),
              component: { name: input.component, version },
              identity,
            },
          }),
        );
        snapshot = await recordSnapshot(deps, obj, pushed, identity, digest);
      } finally {
        await content.dispose();
      }
      return {
        outcome: 'applied',
        snapshot: snapshotRefOf(store, snapshot),
        message: `Applied version ${version}`,
        fields: {
          component: {
            name: input.component,
            version,
            ...(set.digest ? { digest: set.digest } : {}),
            repositorySpec: repoAccess.spec,
          },
          snapshotRef: { name: snapName },
          ...checked,
        },
      };
    });
  }

  async function componentsOf(namespace?: string, repositoryName?: string): Promise<ObjectKey[]> {
    const all = await kube.list<ComponentObject>('Component', namespace);
    return all
      .filter((c) => repositoryName === undefined || c.spec?.repositoryRef?.name === repositoryName)
      .map((c) => ({ kind: 'Component' as const, namespace: c.metadata.namespace, name: c.metadata.name }));
  }

  async function resync(hint: Hint): Promise<ObjectResult[]> {
    const scope = resyncScope(hint);
    const ns = scope.namespace;
    const results: ObjectResult[] = [];
    const repos = scope.wants('OCMRepository') ? await kube.list<OCMRepositoryObject>('OCMRepository', ns) : [];
    results.push(
      ...(await reconcileAll(
        repos.map((r) => ({ kind: 'OCMRepository' as const, namespace: r.metadata.namespace, name: r.metadata.name })),
        (k) => reconcileRepository(k, 'tick'),
      )),
    );
    const snaps = await kube.list<SnapshotObject>('Snapshot', ns);
    for (const s of snaps) {
      if (s.metadata.deletionTimestamp && snapshotOwner(s)?.kind === 'Component') await finalizeSnapshot(deps, s);
    }
    await sweepOrphans(deps, 'Component', ns);
    if (scope.wants('Component')) {
      results.push(...(await reconcileAll(await componentsOf(ns), (k) => reconcileComponent(k, 'tick'))));
    }
    return results;
  }

  async function handle(hint: Hint, _ctx?: StageContext): Promise<StageResult> {
    void _ctx;
    if (hint.type === 'resync') return { objects: await resync(hint) };
    const key = hintKey(hint)!;
    switch (key.kind) {
      case 'OCMRepository': {
        const repoResult = await reconcileRepository(key, 'event');
        const dependents = await reconcileAll(await componentsOf(key.namespace, key.name), (k) =>
          reconcileComponent(k, 'dependency'),
        );
        return { objects: [repoResult, ...dependents] };
      }
      case 'Component': {
        if (hint.action === 'delete') {
          const gone = await sweepOrphans(deps, 'Component', key.namespace, { name: key.name });
          return { objects: gone.map((n) => ({ kind: 'Snapshot', namespace: key.namespace, name: n.split('/')[1]!, outcome: 'deleted' })) };
        }
        if (hint.lost) {
          if (!(await lostOutput(deps, key, hint.lost))) return { objects: [{ ...key, outcome: 'unchanged', reason: 'NotCurrentOutput' }] };
          // the manifest is confirmed gone (and forgotten): a tick's check finds it missing and pushes it again
          return { objects: [await reconcileComponent(key, 'tick')] };
        }
        return { objects: [await reconcileComponent(key, 'self')] };
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
        return { objects: [await reconcileComponent({ kind: 'Component', namespace: key.namespace, name: owner.name }, 'full')] };
      }
      default:
        return { objects: [] };
    }
  }

  return withReplies({
    name: 'descriptor',
    routes(hint: Hint): boolean {
      if (hint.type === 'resync') return true;
      if (hint.ref.kind === 'Component' || hint.ref.kind === 'OCMRepository') return true;
      return snapshotOwnerFromHint(hint)?.kind === 'Component';
    },
    handle,
  }, API_VERSION);
}

/** `value` may be a PEM or base64 of a PEM (as kubectl users often paste it). */
function decodeKeyValue(value: string): string {
  if (value.includes('-----BEGIN')) return value;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return decoded.includes('-----BEGIN') ? decoded : value;
}
