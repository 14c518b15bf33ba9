/**
 * Resource lookup by identity and reference path. The resource is resolved in the descriptor of the component
 * that OWNS it (following `referencePath` through component references), never in the root's (upstream #131/#254).
 */
import {
  AmbiguousResourceError,
  ReferenceNotFoundError,
  ResourceNotFoundError,
  VersionNotFoundError,
} from './errors.js';
import { cvName, type ComponentDescriptor, type ComponentReference, type ElementMeta, type Identity, type Resource } from './model.js';

/** The identity an element is addressed by: extraIdentity + name, plus version when name+extraIdentity are duplicated. */
export function elementIdentity(e: ElementMeta, all: readonly ElementMeta[]): Identity {
  const id: Identity = { ...(e.extraIdentity ?? {}), name: e.name };
  if (id['version'] === undefined) {
    const same = all.filter((o) => o.name === e.name && sameExtraIdentityIgnoringVersion(o.extraIdentity, e.extraIdentity));
    if (same.length > 1) id['version'] = e.version;
  }
  return id;
}

function sameExtraIdentityIgnoringVersion(a: Identity | undefined, b: Identity | undefined): boolean {
  const strip = (x: Identity | undefined): Identity => {
    const c = { ...(x ?? {}) };
    delete c['version'];
    return c;
  };
  const sa = strip(a);
  const sb = { ...(b ?? {}) };
  const ka = Object.keys(sa);
  return ka.length === Object.keys(sb).length && ka.every((k) => sa[k] === sb[k]);
}

/**
 * Whether `e` is selected by `selector`: every selector attribute must equal the element's attribute
 * (`name`, `version`, or an extraIdentity key). Attributes the selector leaves out are not compared.
 */
export function matchesIdentity(e: ElementMeta, selector: Identity): boolean {
  for (const [k, v] of Object.entries(selector)) {
    const actual = k === 'name' ? e.name : (e.extraIdentity?.[k] ?? (k === 'version' ? e.version : undefined));
    if (actual !== v) return false;
  }
  return true;
}

/** The one element matching `selector`. Not found / ambiguous are typed errors. */
function selectOne<T extends ElementMeta>(items: readonly T[], selector: Identity, onNone: () => Error, onMany: (n: number) => Error): T {
  const m = items.filter((i) => matchesIdentity(i, selector));
  if (m.length === 0) throw onNone();
  if (m.length > 1) {
    // an exact full-identity match wins over a partial selector (e.g. {name} when the others differ by extraIdentity)
    const exact = m.filter((i) => {
      const id = elementIdentity(i, items);
      return Object.keys(id).length === Object.keys(selector).length && matchesIdentity(i, id) && Object.entries(id).every(([k, v]) => selector[k] === v);
    });
    if (exact.length === 1) return exact[0]!;
    throw onMany(m.length);
  }
  return m[0]!;
}

/** Looks up a component version in a set of descriptors. */
export interface DescriptorLookup {
  get(name: string, version: string): ComponentDescriptor | undefined;
}

export function lookupFromList(list: readonly ComponentDescriptor[]): DescriptorLookup {
  const m = new Map(list.map((cd) => [cvName(cd), cd]));
  return { get: (name, version) => m.get(`${name}:${version}`) };
}

export interface ResolvedResource {
  resource: Resource;
  /** the descriptor of the component that owns the resource */
  component: ComponentDescriptor;
  /** root .. owner */
  path: ComponentDescriptor[];
}

/** Follow one component reference from `cd`. */
export function resolveReference(cd: ComponentDescriptor, selector: Identity): ComponentReference {
  return selectOne(
    cd.references,
    selector,
    () => new ReferenceNotFoundError(cvName(cd), selector),
    (n) => new AmbiguousResourceError(cvName(cd), selector, n),
  );
}

/**
 * Resolve a resource: start at `root`, follow each `referencePath` entry (an identity of a component reference)
 * to the referenced descriptor, then select the resource by `identity` in that descriptor.
 */
export function resolveResource(
  descriptors: DescriptorLookup | readonly ComponentDescriptor[],
  root: ComponentDescriptor,
  identity: Identity,
  referencePath: readonly Identity[] = [],
): ResolvedResource {
  const lookup = Array.isArray(descriptors) ? lookupFromList(descriptors as ComponentDescriptor[]) : (descriptors as DescriptorLookup);
  let cd = root;
  const path = [root];
  for (const step of referencePath) {
    const ref = resolveReference(cd, step);
    const next = lookup.get(ref.componentName, ref.version);
    if (!next) throw new VersionNotFoundError(ref.componentName, ref.version, `the descriptors referenced by ${cvName(cd)}`);
    cd = next;
    path.push(cd);
  }
  const resource = selectOne(
    cd.resources,
    identity,
    () => new ResourceNotFoundError(cvName(cd), identity),
    (n) => new AmbiguousResourceError(cvName(cd), identity, n),
  );
  return { resource, component: cd, path };
}
