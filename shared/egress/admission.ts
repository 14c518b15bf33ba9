/**
 * The egress policy at admission: the fields of our kinds that point the functions somewhere, checked without
 * DNS (the connect-time check covers names; this one gives the tenant an early answer naming the field).
 * Image references and Helm repositories live in component descriptors, not in objects: they are checked
 * when a stage connects.
 */
import { EgressRefusedError, splitHostPort, type EgressPolicy } from './policy.js';

export interface EgressIssue {
  /** field path, apiserver style */
  path: string;
  message: string;
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);

/** Refusals for an object of kind `kind` (empty: nothing it names is forbidden). */
export function egressIssues(kind: string, obj: unknown, policy: EgressPolicy): EgressIssue[] {
  const spec = rec(rec(obj)?.['spec']);
  if (spec === undefined) return [];
  const issues: EgressIssue[] = [];
  const check = (path: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if (!(err instanceof EgressRefusedError)) throw err;
      issues.push({ path, message: err.message });
    }
  };
  if (kind === 'OCMRepository') {
    const repo = rec(spec['repositorySpec']);
    const baseUrl = repo?.['baseUrl'];
    const filePath = repo?.['filePath'];
    if (typeof baseUrl === 'string' && baseUrl !== '') {
      check('spec.repositorySpec.baseUrl', () => {
        const { host, port } = splitHostPort(baseUrl);
        policy.checkHost(host, port);
      });
    }
    if (typeof filePath === 'string' && filePath !== '') check('spec.repositorySpec.filePath', () => policy.checkCtfPath(filePath));
  }
  if (kind === 'Publication') {
    const url = rec(spec['target'])?.['url'];
    if (typeof url === 'string' && url !== '') {
      check('spec.target.url', () => {
        const { host, port } = splitHostPort(url);
        policy.checkHost(host, port);
      });
    }
  }
  return issues;
}
