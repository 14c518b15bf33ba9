/**
 * One validation for every host: the local runner, the admission webhook and tests apply exactly what
 * the apiserver applies for our CRDs (schema, defaults, CEL rules, from the same schema data) plus the
 * webhook's semantic checks.
 */
import { API_VERSION } from '../schema/common.js';
import { KINDS, isOurKind } from '../schema/kinds/index.js';
import { toCel, evaluateRule } from './cel.js';
import { type ValidationIssue } from './issue.js';
import { semanticIssues } from './semantic.js';
import { SKIPPED_RULES, Walker } from './structural.js';

export interface ValidateOptions {
  /** the stored object, on update (enables transition rules such as immutability) */
  old?: unknown;
  /** report undeclared fields as errors (kubectl's default); default true */
  strictFields?: boolean;
}

export interface Admission {
  /** the object as the apiserver would store it: nulls dropped, defaults applied, unknown fields pruned */
  object: Record<string, unknown>;
  issues: ValidationIssue[];
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);

function metadataIssues(meta: Rec | undefined): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const err = (path: string, message: string) => out.push({ path, message, severity: 'error', source: 'schema' });
  if (meta === undefined) {
    err('metadata', 'Required value');
    return out;
  }
  const name = meta['name'];
  if (name === undefined || name === '') {
    if (typeof meta['generateName'] !== 'string') err('metadata.name', 'Required value: name or generateName is required');
  } else if (typeof name !== 'string' || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    err('metadata.name', `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`);
  }
  const ns = meta['namespace'];
  if (ns !== undefined && (typeof ns !== 'string' || ns.length > 63 || !DNS_LABEL.test(ns))) {
    err('metadata.namespace', `Invalid value: ${JSON.stringify(ns)}: a lowercase RFC 1123 label (at most 63 characters)`);
  }
  return out;
}

/** Validates and defaults one object of ours. */
export function admitObject(input: unknown, opts: ValidateOptions = {}): Admission {
  const obj = rec(input);
  if (obj === undefined) {
    return { object: {}, issues: [{ path: '', message: 'expected an object (a YAML/JSON mapping)', severity: 'error', source: 'schema' }] };
  }
  const issues: ValidationIssue[] = [];
  const err = (path: string, message: string) => issues.push({ path, message, severity: 'error', source: 'schema' });
  if (obj['apiVersion'] !== API_VERSION) err('apiVersion', `Unsupported value: ${JSON.stringify(obj['apiVersion'])}: supported values: "${API_VERSION}"`);
  const kind = obj['kind'];
  if (!isOurKind(kind)) {
    err('kind', `Unsupported value: ${JSON.stringify(kind)}: supported values: ${Object.keys(KINDS).map((k) => `"${k}"`).join(', ')}`);
    return { object: obj, issues };
  }
  const def = KINDS[kind];
  const old = rec(opts.old);
  const meta = rec(obj['metadata']);
  issues.push(...metadataIssues(meta));

  const walker = new Walker({ strictFields: opts.strictFields ?? true });
  const out: Rec = { ...obj };
  if (obj['spec'] === undefined || obj['spec'] === null) {
    err('spec', 'Required value');
    walker.blocked = true;
  } else {
    out['spec'] = walker.walk(obj['spec'], def.spec, 'spec');
  }
  if (obj['status'] !== undefined && obj['status'] !== null) out['status'] = walker.walk(obj['status'], def.status, 'status');
  else delete out['status'];
  for (const k of Object.keys(obj)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k) && (opts.strictFields ?? true)) err(k, 'unknown field (not declared in the schema)');
  }

  // a missing name is a "Required" error too, which blocks CEL in the apiserver
  if (issues.some((i) => i.path === 'metadata.name' && i.message.startsWith('Required value'))) walker.blocked = true;
  if (walker.blocked) {
    // as the apiserver: no CEL rule runs on an object with a blocking schema error
    issues.push(...walker.issues, { path: '', message: SKIPPED_RULES, severity: 'warning', source: 'cel' });
  } else {
    walker.cel(out['spec'], def.spec, 'spec', old?.['spec']);
    if (out['status'] !== undefined) walker.cel(out['status'], def.status, 'status', old?.['status']);
    issues.push(...walker.issues);
    if (def.rootRules !== undefined) {
      const self = {
        apiVersion: out['apiVersion'],
        kind: out['kind'],
        metadata: { name: meta?.['name'] ?? '', generateName: meta?.['generateName'] ?? '' },
        spec: toCel(out['spec'], def.spec),
        ...(out['status'] !== undefined ? { status: toCel(out['status'], def.status) } : {}),
      };
      for (const rule of def.rootRules) {
        const r = evaluateRule(rule, self, undefined);
        if (!r.ok) issues.push({ path: rule.fieldPath !== undefined ? rule.fieldPath.replace(/^\./, '') : '', message: r.message, severity: 'error', source: 'cel' });
      }
    }
  }

  // semantic checks only where the schema and CEL found nothing, so one mistake gives one message
  const covered = issues.filter((i) => i.severity === 'error').map((i) => i.path);
  for (const s of semanticIssues(kind, out)) {
    if (!covered.some((p) => s.path === p || s.path.startsWith(`${p}.`) || s.path.startsWith(`${p}[`) || p.startsWith(`${s.path}.`))) issues.push(s);
  }
  return { object: out, issues };
}

/** All problems with an object of ours (schema + CEL + semantic checks), in the apiserver's field-path style. */
export function validateObject(obj: unknown, opts: ValidateOptions = {}): ValidationIssue[] {
  return admitObject(obj, opts).issues;
}

export { semanticIssues, semverRange, baseUrlProblem, IDENTITY_KEY } from './semantic.js';
export { referencesOf, referenceWarnings, type ExistsFn, type Reference } from './references.js';
export { formatIssue, errors, ObjectInvalidError, type ValidationIssue } from './issue.js';
