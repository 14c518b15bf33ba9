/**
 * Checks a CEL rule cannot express (parsing semver constraints and regular expressions, fields the
 * schema keeps but does not declare, identity keys). Run by the admission webhook in a cluster and by
 * validateObject everywhere. Pure: no I/O.
 */
import semver from 'semver';
import { CTF_TYPES, OCI_REGISTRY_TYPES } from '../schema/kinds/ocmrepository.js';
import { childPath, indexPath, type ValidationIssue } from './issue.js';

/** OCM identity attribute key (OCM descriptor schema). */
export const IDENTITY_KEY = /^[a-z0-9]([-_+a-z0-9]*[a-z0-9])?$/;
/** dot path with optional list indexes: image.repository, spec.containers[0].image */
export const VALUE_PATH = /^[^.[\]\s]+(\[[0-9]+\])*(\.[^.[\]\s]+(\[[0-9]+\])*)*$/;

const OCI_FIELDS = ['type', 'baseUrl', 'subPath', 'componentNameMapping'];
const CTF_FIELDS = ['type', 'filePath', 'fileFormat', 'accessMode'];

/**
 * Turns an OCM (Go Masterminds) semver constraint into a node-semver range, or null if it does not
 * parse. Masterminds separates AND-ed comparators with commas; node-semver with spaces.
 */
export function semverRange(constraint: string): string | null {
  return semver.validRange(constraint.replace(/,/g, ' '));
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

class Checker {
  readonly issues: ValidationIssue[] = [];
  err(path: string, message: string): void {
    this.issues.push({ path, message, severity: 'error', source: 'semantic' });
  }

  identity(v: unknown, path: string): void {
    const id = rec(v);
    if (id === undefined) return;
    if (Object.keys(id).length === 0) this.err(path, 'an identity must not be empty');
    for (const [k, val] of Object.entries(id)) {
      if (!IDENTITY_KEY.test(k)) this.err(childPath(path, k), `identity key ${JSON.stringify(k)} is not valid: use lowercase letters, digits, - _ + (e.g. name, version, architecture)`);
      if (typeof val !== 'string' || val === '') this.err(childPath(path, k), 'identity values must be non-empty strings');
    }
  }

  referencePath(v: unknown, path: string): void {
    list(v).forEach((id, i) => this.identity(id, indexPath(path, i)));
  }

  repositorySpec(v: unknown, path: string): void {
    const spec = rec(v);
    if (spec === undefined) return;
    const type = spec['type'];
    let allowed: string[];
    if ((OCI_REGISTRY_TYPES as readonly unknown[]).includes(type)) allowed = OCI_FIELDS;
    else if ((CTF_TYPES as readonly unknown[]).includes(type)) allowed = CTF_FIELDS;
    else {
      this.err(childPath(path, 'type'), `unknown repository type ${JSON.stringify(type)}: use OCIRegistry or CommonTransportFormat`);
      return;
    }
    for (const k of Object.keys(spec)) {
      if (!allowed.includes(k)) this.err(childPath(path, k), `unknown field for type ${String(type)} (allowed: ${allowed.filter((a) => a !== 'type').join(', ')})`);
    }
    const baseUrl = spec['baseUrl'];
    if (typeof baseUrl === 'string') {
      const problem = baseUrlProblem(baseUrl);
      if (problem !== undefined) this.err(childPath(path, 'baseUrl'), problem);
    }
  }

  component(spec: Rec): void {
    const c = spec['semver'];
    if (typeof c === 'string' && semverRange(c) === null) {
      this.err('spec.semver', `${JSON.stringify(c)} is not a valid semver constraint (examples: ">=1.0.0 <2.0.0", "1.2.x", "^1.4", "~1.2.3")`);
    }
    const f = spec['semverFilter'];
    if (typeof f === 'string') {
      try {
        new RegExp(f);
      } catch (e) {
        this.err('spec.semverFilter', `not a valid regular expression: ${(e as Error).message}`);
      }
    }
  }

  resource(spec: Rec): void {
    const by = rec(rec(spec['resource'])?.['byReference']);
    if (by === undefined) return;
    this.identity(by['resource'], 'spec.resource.byReference.resource');
    this.referencePath(by['referencePath'], 'spec.resource.byReference.referencePath');
  }

  configuration(spec: Rec): void {
    list(spec['rules']).forEach((r, i) => {
      const p = indexPath('spec.rules', i);
      const y = rec(rec(r)?.['yamlsubst']);
      if (y !== undefined) {
        const src = rec(y['source']);
        if (src !== undefined && src['value'] !== undefined && src['resource'] !== undefined) {
          this.err(`${p}.yamlsubst.source`, 'a yamlsubst source needs exactly one of value or resource');
        }
        if (src?.['resource'] !== undefined) this.identity(src['resource'], `${p}.yamlsubst.source.resource`);
        this.referencePath(src?.['referencePath'], `${p}.yamlsubst.source.referencePath`);
        const value = rec(rec(y['target'])?.['file'])?.['value'];
        if (typeof value === 'string' && !VALUE_PATH.test(value)) {
          this.err(`${p}.yamlsubst.target.file.value`, `${JSON.stringify(value)} is not a value path (use dots and [index], e.g. image.repository or spec.containers[0].image)`);
        }
      }
      const d = rec(rec(rec(r)?.['goTemplate'])?.['delimiters']);
      if (d !== undefined && d['left'] === d['right']) this.err(`${p}.goTemplate.delimiters`, 'left and right delimiters must differ');
    });
  }
}

/** Why a baseUrl is unusable, or undefined. Accepts host[:port][/path] and http(s)://host[:port][/path]. */
export function baseUrlProblem(baseUrl: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(baseUrl) ? baseUrl : `https://${baseUrl}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    return `${JSON.stringify(baseUrl)} is not a registry address (expected host[:port][/path], e.g. ghcr.io/acme)`;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `scheme ${u.protocol} is not supported (use https://, http:// or none)`;
  if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') {
    return 'baseUrl must not contain a query, fragment or credentials (put credentials in secretRef)';
  }
  if (u.hostname === '') return 'baseUrl needs a host';
  return undefined;
}

/** Semantic checks of one object (any kind of ours). */
export function semanticIssues(kind: string, obj: Rec): ValidationIssue[] {
  const c = new Checker();
  const spec = rec(obj['spec']);
  if (spec === undefined) return c.issues;
  switch (kind) {
    case 'OCMRepository':
      c.repositorySpec(spec['repositorySpec'], 'spec.repositorySpec');
      break;
    case 'Component':
      c.component(spec);
      break;
    case 'Resource':
      c.resource(spec);
      break;
    case 'Configuration':
      c.configuration(spec);
      break;
    case 'Snapshot':
      if (rec(spec['identity']) !== undefined && Object.keys(rec(spec['identity']) ?? {}).length === 0) c.err('spec.identity', 'an identity must not be empty');
      break;
    default:
      break;
  }
  return c.issues;
}
