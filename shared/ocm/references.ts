/**
 * Fetch a component version and everything it references, transitively. Each version is fetched once; a
 * reference cycle does not loop (it is reported by `findReferenceCycle`, which verification uses, because a
 * cycle can never carry valid reference digests).
 */
import { ArtifactFormatError, ReferenceCycleError } from './errors.js';
import { cvName, type ComponentDescriptor } from './model.js';
import type { ComponentRepository } from './ports.js';
import { lookupFromList, type DescriptorLookup } from './resolve.js';

export interface DescriptorSet extends DescriptorLookup {
  root: ComponentDescriptor;
  /** root first, then the referenced versions in breadth-first order */
  all: ComponentDescriptor[];
}

export function descriptorSet(root: ComponentDescriptor, others: readonly ComponentDescriptor[] = []): DescriptorSet {
  const seen = new Set<string>([cvName(root)]);
  const all = [root];
  for (const cd of others) {
    if (!seen.has(cvName(cd))) {
      seen.add(cvName(cd));
      all.push(cd);
    }
  }
  const lookup = lookupFromList(all);
  return { root, all, get: lookup.get };
}

export interface FetchOptions {
  /** parallel descriptor fetches per level (default 4) */
  concurrency?: number;
  /** upper bound on the number of component versions (default 1000), against hostile reference graphs */
  maxComponents?: number;
}

export async function fetchWithReferences(
  repo: ComponentRepository,
  root: ComponentDescriptor | { name: string; version: string },
  opts: FetchOptions = {},
): Promise<DescriptorSet> {
  const rootCd = 'references' in root ? root : await repo.getDescriptor(root.name, root.version);
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const max = opts.maxComponents ?? 1000;
  const fetched = new Map<string, ComponentDescriptor>([[cvName(rootCd), rootCd]]);
  const order: ComponentDescriptor[] = [rootCd];
  let frontier = [rootCd];
  while (frontier.length) {
    const wanted: { name: string; version: string }[] = [];
    for (const cd of frontier) {
      for (const ref of cd.references) {
        const key = `${ref.componentName}:${ref.version}`;
        if (!fetched.has(key) && !wanted.some((w) => `${w.name}:${w.version}` === key)) {
          wanted.push({ name: ref.componentName, version: ref.version });
        }
      }
    }
    if (fetched.size + wanted.length > max) {
      throw new ArtifactFormatError(`the reference graph of ${cvName(rootCd)} has more than ${max} component versions`);
    }
    const next: ComponentDescriptor[] = [];
    for (let i = 0; i < wanted.length; i += concurrency) {
      const batch = await Promise.all(wanted.slice(i, i + concurrency).map((w) => repo.getDescriptor(w.name, w.version)));
      for (const cd of batch) {
        fetched.set(cvName(cd), cd);
        order.push(cd);
        next.push(cd);
      }
    }
    frontier = next;
  }
  return descriptorSet(rootCd, order.slice(1));
}

/** The first reference cycle reachable from `root` (as a list of `name:version`), or undefined. */
export function findReferenceCycle(root: ComponentDescriptor, lookup: DescriptorLookup): string[] | undefined {
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (cd: ComponentDescriptor): string[] | undefined => {
    const key = cvName(cd);
    state.set(key, 'active');
    stack.push(key);
    for (const ref of cd.references) {
      const rk = `${ref.componentName}:${ref.version}`;
      const s = state.get(rk);
      if (s === 'active') return [...stack.slice(stack.indexOf(rk)), rk];
      if (s === 'done') continue;
      const next = lookup.get(ref.componentName, ref.version);
      if (next) {
        const c = visit(next);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(key, 'done');
    return undefined;
  };
  return visit(root);
}

export function assertNoReferenceCycle(root: ComponentDescriptor, lookup: DescriptorLookup): void {
  const c = findReferenceCycle(root, lookup);
  if (c) throw new ReferenceCycleError(c);
}
