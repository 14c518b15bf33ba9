/**
 * References to objects that may not exist yet. A missing one is a warning, never a denial: objects
 * are often applied in any order (kubectl apply -f dir/), and the stage waits for them.
 */
import type { ValidationIssue } from './issue.js';

export interface Reference {
  path: string;
  kind: 'OCMRepository' | 'Component' | 'Resource' | 'Configuration' | 'Secret' | 'ConfigMap';
  name: string;
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);
const nameOf = (v: unknown): string | undefined => {
  const n = rec(v)?.['name'];
  return typeof n === 'string' && n !== '' ? n : undefined;
};

/** The references an object of ours makes, with their field paths. */
export function referencesOf(kind: string, obj: unknown): Reference[] {
  const spec = rec(rec(obj)?.['spec']);
  if (spec === undefined) return [];
  const out: Reference[] = [];
  const add = (path: string, k: Reference['kind'], ref: unknown) => {
    const name = nameOf(ref);
    if (name !== undefined) out.push({ path, kind: k, name });
  };
  const kindRef = (path: string, ref: unknown, allowed: Reference['kind'][]) => {
    const k = rec(ref)?.['kind'];
    if (typeof k === 'string' && (allowed as string[]).includes(k)) add(path, k as Reference['kind'], ref);
  };
  switch (kind) {
    case 'OCMRepository':
      add('spec.secretRef.name', 'Secret', spec['secretRef']);
      break;
    case 'Component':
      add('spec.repositoryRef.name', 'OCMRepository', spec['repositoryRef']);
      (Array.isArray(spec['verify']) ? spec['verify'] : []).forEach((v, i) => add(`spec.verify[${i}].secretRef.name`, 'Secret', rec(v)?.['secretRef']));
      break;
    case 'Resource':
      add('spec.componentRef.name', 'Component', spec['componentRef']);
      break;
    case 'Configuration':
      kindRef('spec.target.name', spec['target'], ['Resource', 'Configuration']);
      kindRef('spec.configRef.name', spec['configRef'], ['ConfigMap', 'Resource']);
      break;
    case 'Publication':
      kindRef('spec.source.name', spec['source'], ['Resource', 'Configuration']);
      add('spec.target.secretRef.name', 'Secret', rec(spec['target'])?.['secretRef']);
      break;
    default:
      break;
  }
  return out;
}

/** true: exists; false: does not; undefined: could not tell (no warning then). */
export type ExistsFn = (kind: Reference['kind'], namespace: string, name: string) => Promise<boolean | undefined>;

/** Looks all references up in parallel, within `timeoutMs`; lookups still running then are ignored. */
export async function referenceWarnings(kind: string, obj: unknown, namespace: string, exists: ExistsFn, timeoutMs = 2000): Promise<ValidationIssue[]> {
  const refs = referencesOf(kind, obj);
  if (refs.length === 0) return [];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    const found = await Promise.all(refs.map((r) => Promise.race([exists(r.kind, namespace, r.name).catch(() => undefined), deadline])));
    return refs.flatMap((r, i) =>
      found[i] === false
        ? [{ path: r.path, message: `${r.kind} "${r.name}" does not exist (yet) in namespace "${namespace}"; this object stays not ready until it does`, severity: 'warning' as const, source: 'reference' as const }]
        : [],
    );
  } finally {
    clearTimeout(timer);
  }
}
