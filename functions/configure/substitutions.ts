import { ObjectFailure, Reason, type ConfigurationObject, type KubePort, type ResourceObject, type Substitution, type TargetRef } from '../../shared/ports/index.js';
import { readComponentSet, readySnapshotOf } from '../../shared/stagekit/dependencies.js';
import type { ConfigureDeps } from './deps.js';
import type { ParsedRule } from './rules.js';

const MAX_CHAIN = 16;

/**
 * The substitutions the rules stand for, in order: values as they are, localizations resolved against the descriptors
 * of the component the target chain leads to (whose Snapshot digest then is part of the input).
 */
export async function substitutions(
  deps: ConfigureDeps,
  obj: ConfigurationObject,
  target: TargetRef,
  rules: ParsedRule[],
): Promise<{ subs: Substitution[]; componentsDigest?: string }> {
  if (!rules.some((r) => 'resource' in r)) {
    return { subs: rules.map((r) => r as Substitution) };
  }
  const componentName = await componentOf(deps.kube, obj, target);
  const { snapshot } = await readySnapshotOf(deps.kube, 'Component', obj.metadata.namespace, componentName);
  const setYaml = await readComponentSet(deps, snapshot);
  const subs = rules.map((r, i): Substitution => {
    if (!('resource' in r)) return r;
    const resolved = (() => {
      try {
        return deps.ocm.resolveResource({ setYaml, identity: r.resource, referencePath: r.referencePath });
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

/** Follows Configuration -> ... -> Resource to the component whose descriptors localization reads. */
async function componentOf(kube: KubePort, obj: ConfigurationObject, target: TargetRef): Promise<string> {
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
