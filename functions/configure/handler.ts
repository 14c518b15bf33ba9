import { readFile } from 'node:fs/promises';
import {
  API_VERSION,
  ObjectFailure,
  Reason,
  type ArtifactStore,
  type ConfigurationObject,
  type ConfigureEngine,
  type Hint,
  type KubePort,
  type Logger,
  type ObjectKey,
  type OcmSource,
  type ResourceObject,
  type SnapshotObject,
  type Stage,
  type StageResult,
  type Substitution,
  type TargetRef,
} from '../../shared/ports/index.js';
import { isReadyCurrent } from '../../shared/stagekit/conditions.js';
import { assertInputUnchanged, fetchInputLayer, readySnapshotOf } from '../../shared/stagekit/dependencies.js';
import { hintKey, snapshotOwner, snapshotOwnerFromHint } from '../../shared/stagekit/hints.js';
import { inputDigest } from '../../shared/stagekit/input-digest.js';
import { repositoryName } from '../../shared/stagekit/names.js';
import { handleProducerHint } from '../../shared/stagekit/producer-hints.js';
import { reconcileAll, reconcileObject } from '../../shared/stagekit/reconcile.js';
import { withReplies } from '../../shared/stagekit/replies.js';
import { recordedFailure, type Applied, type ObjectResult } from '../../shared/stagekit/results.js';
import { finalizeSnapshot } from '../../shared/stagekit/snapshot-cleanup.js';
import { inputStillCurrent, recordSnapshot, snapshotKeyFor, snapshotRefOf, upToDateSnapshot } from '../../shared/stagekit/snapshots.js';
import { step } from '../../shared/stagekit/step.js';
import { parseRules, rulesFromText, type ParsedRule } from './rules.js';
import { extractSingleTextFile } from './single-file.js';

export interface ConfigureDeps {
  kube: KubePort;
  store: ArtifactStore;
  ocm: OcmSource;
  engine: ConfigureEngine;
  log?: Logger;
}

const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';
const MAX_CHAIN = 16;

export function createConfigureStage(deps: ConfigureDeps): Stage {
  const { kube, store, ocm, engine } = deps;

  function parseTarget(obj: ConfigurationObject): TargetRef {
    const t = obj.spec?.target;
    if (!t || (t.kind !== 'Resource' && t.kind !== 'Configuration') || !t.name) {
      throw new ObjectFailure(Reason.SpecInvalid, `Configuration ${obj.metadata.name}: spec.target needs kind Resource or Configuration and a name`);
    }
    if (t.kind === 'Configuration' && t.name === obj.metadata.name) {
      throw new ObjectFailure(Reason.SpecInvalid, `Configuration ${obj.metadata.name}: spec.target cannot be the Configuration itself`);
    }
    return t;
  }

  async function loadRules(obj: ConfigurationObject): Promise<ParsedRule[]> {
    const name = obj.metadata.name;
    const ref = obj.spec?.configRef;
    if (obj.spec?.rules !== undefined) return parseRules(obj.spec.rules, `Configuration ${name}: spec.rules`);
    if (!ref) throw new ObjectFailure(Reason.SpecInvalid, `Configuration ${name}: set spec.rules or spec.configRef`);
    if (ref.kind === 'ConfigMap') {
      const key = ref.key ?? 'rules.yaml';
      const cm = await step(Reason.ConfigFetchFailed, () => kube.getConfigMap(obj.metadata.namespace, ref.name));
      if (!cm) throw new ObjectFailure(Reason.ConfigFetchFailed, `Configuration ${name}: ConfigMap ${ref.name} not found`);
      const text = cm[key];
      if (text === undefined) throw new ObjectFailure(Reason.ConfigFetchFailed, `Configuration ${name}: ConfigMap ${ref.name} has no key ${key}`);
      return parseRules(rulesFromText(text, `ConfigMap ${ref.name} key ${key}`), `ConfigMap ${ref.name} key ${key}`);
    }
    if (ref.kind === 'Resource') {
      const { snapshot } = await readySnapshotOf(kube, 'Resource', obj.metadata.namespace, ref.name, Reason.ConfigFetchFailed);
      const text = await step(Reason.ConfigFetchFailed, () => readSingleFile(snapshot));
      return parseRules(rulesFromText(text, `config Resource ${ref.name}`), `config Resource ${ref.name}`);
    }
    throw new ObjectFailure(Reason.SpecInvalid, `Configuration ${name}: spec.configRef.kind must be ConfigMap or Resource`);
  }

  /** The text of a config Resource: its layer is a tar+gzip holding one file (docs/design.md §6 wraps non-archives). */
  async function readSingleFile(snapshot: SnapshotObject): Promise<string> {
    const blob = await fetchInputLayer(kube, store, snapshot, Reason.ConfigFetchFailed);
    try {
      return await extractSingleTextFile(blob.path);
    } finally {
      await blob.dispose();
    }
  }

  /** Follows Configuration -> ... -> Resource to the component whose descriptors localization reads. */
  async function componentOf(obj: ConfigurationObject, target: TargetRef): Promise<string> {
    let cur: TargetRef = target;
    const seen = new Set<string>([obj.metadata.name]);
    for (let i = 0; i < MAX_CHAIN; i++) {
      if (cur.kind === 'Resource') {
        const r = await kube.get<ResourceObject>({ kind: 'Resource', namespace: obj.metadata.namespace, name: cur.name });
        const c = r?.spec?.componentRef?.name;
        if (!c) throw new ObjectFailure(Reason.TargetIsNotReady, `Resource ${cur.name} not found or has no componentRef`);
        return c;
      }
      if (seen.has(cur.name)) throw new ObjectFailure(Reason.SpecInvalid, `Configuration ${obj.metadata.name}: target chain has a cycle at ${cur.name}`);
      seen.add(cur.name);
      const c = await kube.get<ConfigurationObject>({ kind: 'Configuration', namespace: obj.metadata.namespace, name: cur.name });
      if (!c?.spec?.target) throw new ObjectFailure(Reason.TargetIsNotReady, `Configuration ${cur.name} not found`);
      cur = c.spec.target;
    }
    throw new ObjectFailure(Reason.SpecInvalid, `Configuration ${obj.metadata.name}: target chain longer than ${MAX_CHAIN}`);
  }

  async function substitutions(
    obj: ConfigurationObject,
    target: TargetRef,
    rules: ParsedRule[],
  ): Promise<{ subs: Substitution[]; componentsDigest?: string }> {
    if (!rules.some((r) => 'resource' in r)) {
      return { subs: rules.map((r) => r as Substitution) };
    }
    const componentName = await componentOf(obj, target);
    const { snapshot } = await readySnapshotOf(kube, 'Component', obj.metadata.namespace, componentName);
    const blob = await step(Reason.GetComponentDescriptorsFailed, () => fetchInputLayer(kube, store, snapshot, Reason.ComponentIsNotReady));
    let setYaml: string;
    try {
      setYaml = await readFile(blob.path, 'utf8');
    } finally {
      await blob.dispose();
    }
    const subs = rules.map((r, i): Substitution => {
      if (!('resource' in r)) return r;
      const resolved = (() => {
        try {
          return ocm.resolveResource({ setYaml, identity: r.resource, referencePath: r.referencePath });
        } catch (err) {
          throw new ObjectFailure(Reason.ConfigurationFailed, `rule ${i}: ${(err as Error).message}`);
        }
      })();
      const image = imageReferenceOf(resolved.resource.access);
      if (!image) {
        throw new ObjectFailure(
          Reason.ConfigurationFailed,
          `rule ${i}: resource ${resolved.resource.name} has access type ${resolved.resource.access.type} without an image reference (ociArtifact, ociBlob, or localBlob with globalAccess)`,
        );
      }
      return { file: r.file, path: r.path, image, transformation: r.transformation };
    });
    return { subs, componentsDigest: snapshot.spec!.digest };
  }

  async function reconcileConfiguration(key: ObjectKey, selfEvent: boolean): Promise<ObjectResult> {
    return reconcileObject<ConfigurationObject>(deps, key, async (obj): Promise<Applied> => {
      const target = parseTarget(obj);
      const current = { snapshotRef: obj.status?.snapshotRef, digest: obj.status?.digest };
      if (selfEvent && obj.status?.observedGeneration === obj.metadata.generation) {
        const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
        if (ready && ready.status !== 'True') throw recordedFailure(ready);
        const snap = ready ? await kube.get<SnapshotObject>(snapshotKeyFor(obj)) : undefined;
        if (ready && snap && !snap.metadata.deletionTimestamp && isReadyCurrent(snap) && (await inputStillCurrent(kube, snap))) {
          return { outcome: 'unchanged', message: ready.message, fields: current };
        }
      }
      const { snapshot: targetSnap } = await readySnapshotOf(kube, target.kind, key.namespace, target.name);
      const rules = await loadRules(obj);
      const { subs, componentsDigest } = await substitutions(obj, target, rules);
      const digest = inputDigest('configure', { target: targetSnap.spec!.digest, substitutions: subs, componentsDigest });
      const message = `Configured ${target.kind} ${target.name} (${subs.length} substitution${subs.length === 1 ? '' : 's'})`;
      const existing = await upToDateSnapshot(deps, obj, digest);
      if (existing) {
        return { outcome: 'unchanged', message, fields: { snapshotRef: { name: existing.metadata.name }, digest: existing.spec!.digest } };
      }
      const input = await step(Reason.TargetFetchFailed, () => fetchInputLayer(kube, store, targetSnap, Reason.TargetIsNotReady));
      try {
        // the layer, not the Snapshot's blob: a Helm chart copied whole from a registry (an ociArtifact resource) has
        // its manifest as the Snapshot's blob, and its chart layer must read the same as our single-layer Helm artifact
        const helm = input.mediaType === HELM_CHART_LAYER;
        const output = await step(Reason.ConfigurationFailed, () => engine.apply(input, subs, { helm }));
        try {
          const identity = { ...targetSnap.spec!.identity, 'configuration-name': obj.metadata.name };
          const componentName = targetSnap.spec!.identity['component-name'];
          const componentVersion = targetSnap.spec!.identity['component-version'];
          const pushed = await step(Reason.PushSnapshotFailed, () =>
            store.pushSingleLayer({
              repository: repositoryName(key.namespace, 'Configuration', key.name),
              tag: targetSnap.spec!.tag,
              kind: helm ? 'helm-chart' : 'blob',
              content: output,
              ...(targetSnap.spec!.identity['resource-name'] ? { resourceName: targetSnap.spec!.identity['resource-name'] } : {}),
              annotations: {
                ...(componentName && componentVersion ? { component: { name: componentName, version: componentVersion } } : {}),
                identity,
              },
            }),
          );
          const snap = await recordSnapshot(deps, obj, pushed, identity, digest, targetSnap);
          await assertInputUnchanged(kube, targetSnap, `Configuration ${key.name}`);
          return {
            outcome: 'applied',
            message,
            snapshot: snapshotRefOf(store, snap),
            fields: { snapshotRef: { name: snap.metadata.name }, digest: pushed.digest },
          };
        } finally {
          await output.dispose();
        }
      } finally {
        await input.dispose();
      }
    });
  }

  async function dependents(namespace: string, kind: string, name: string): Promise<ObjectKey[]> {
    const all = await kube.list<ConfigurationObject>('Configuration', namespace);
    return all
      .filter(
        (c) =>
          (c.spec?.target?.kind === kind && c.spec.target.name === name) ||
          (kind === 'Resource' && c.spec?.configRef?.kind === 'Resource' && c.spec.configRef.name === name),
      )
      .map((c) => ({ kind: 'Configuration' as const, namespace, name: c.metadata.name }));
  }

  async function handle(hint: Hint): Promise<StageResult> {
    const own = await handleProducerHint(deps, 'Configuration', hint, reconcileConfiguration);
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
        results.push(await reconcileConfiguration({ kind: 'Configuration', namespace: key.namespace, name: owner.name }, false));
      }
    }
    const keys = await dependents(key.namespace, owner.kind, owner.name);
    results.push(...(await reconcileAll(keys, (k) => reconcileConfiguration(k, false))));
    return { objects: results };
  }

  return withReplies({
    name: 'configure',
    routes(hint: Hint): boolean {
      if (hint.type === 'resync') return true;
      if (hint.ref.kind === 'Configuration') return true;
      const owner = snapshotOwnerFromHint(hint)?.kind;
      return owner === 'Resource' || owner === 'Configuration';
    },
    handle,
  }, API_VERSION);
}

/** The image reference localization writes, per access type (docs/design.md §5). */
export function imageReferenceOf(access: { type: string } & Record<string, unknown>): string | undefined {
  const t = access.type.replace(/\/v1$/, '');
  if (t === 'ociArtifact' || t === 'OCIImage') return str(access['imageReference']);
  if (t === 'ociBlob') {
    const ref = str(access['ref']) ?? str(access['imageReference']);
    const digest = str(access['digest']);
    return ref && digest ? `${ref}@${digest}` : ref;
  }
  if (t === 'localBlob') {
    const g = access['globalAccess'];
    if (g && typeof g === 'object') return imageReferenceOf(g as { type: string } & Record<string, unknown>);
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

