import type { ComponentObject, OCMRepositoryObject, RepositorySpec, VerifySpec } from '../../shared/ports/index.js';
import { ObjectFailure, Reason } from '../../shared/ports/index.js';

export interface ComponentInput {
  repositoryName: string;
  component: string;
  semver: string;
  semverFilter?: string;
  downgradePolicy: 'Allow' | 'Deny' | 'Enforce';
  verify: VerifySpec[];
}

function invalid(obj: { kind: string; metadata: { name: string } }, field: string, problem: string): ObjectFailure {
  return new ObjectFailure(Reason.SpecInvalid, `${obj.kind} ${obj.metadata.name}: spec.${field} ${problem}`);
}

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.trim().length > 0;
}

/** Validates what the descriptor stage reads from a Component (the CRD schema checks most of it already). */
export function parseComponent(obj: ComponentObject): ComponentInput {
  const s = obj.spec ?? {};
  if (!nonEmpty(s.repositoryRef?.name)) throw invalid(obj, 'repositoryRef.name', 'is required');
  if (!nonEmpty(s.component)) throw invalid(obj, 'component', 'is required');
  if (!nonEmpty(s.semver)) throw invalid(obj, 'semver', 'is required');
  if (s.semverFilter !== undefined) {
    try {
      new RegExp(s.semverFilter);
    } catch (err) {
      throw invalid(obj, 'semverFilter', `is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  const policy = s.downgradePolicy ?? 'Deny';
  if (!['Allow', 'Deny', 'Enforce'].includes(policy)) throw invalid(obj, 'downgradePolicy', 'must be Allow, Deny or Enforce');
  const verify = s.verify ?? [];
  verify.forEach((v, i) => {
    if (!nonEmpty(v.signature)) throw invalid(obj, `verify[${i}].signature`, 'is required');
    if (!v.secretRef?.name && !nonEmpty(v.value)) throw invalid(obj, `verify[${i}]`, 'needs secretRef or value');
  });
  return {
    repositoryName: s.repositoryRef!.name,
    component: s.component!,
    semver: s.semver!,
    semverFilter: s.semverFilter,
    downgradePolicy: policy,
    verify,
  };
}

export function parseRepository(obj: OCMRepositoryObject): RepositorySpec {
  const r = obj.spec?.repositorySpec as Record<string, unknown> | undefined;
  const bad = (field: string, problem: string) =>
    new ObjectFailure(Reason.RepositorySpecInvalid, `OCMRepository ${obj.metadata.name}: spec.repositorySpec.${field} ${problem}`);
  if (!r) throw bad('', 'is required');
  if (r.type === 'OCIRegistry') {
    if (!nonEmpty(r.baseUrl)) throw bad('baseUrl', 'is required for type OCIRegistry');
    if (r.subPath !== undefined && typeof r.subPath !== 'string') throw bad('subPath', 'must be a string');
    return { type: 'OCIRegistry', baseUrl: r.baseUrl, ...(nonEmpty(r.subPath) ? { subPath: r.subPath } : {}) };
  }
  if (r.type === 'CommonTransportFormat') {
    if (!nonEmpty(r.filePath)) throw bad('filePath', 'is required for type CommonTransportFormat');
    return { type: 'CommonTransportFormat', filePath: r.filePath };
  }
  throw bad('type', `must be OCIRegistry or CommonTransportFormat, got ${JSON.stringify(r.type)}`);
}

/** A human-readable source for `org.opencontainers.image.source`. */
export function repositoryUrl(spec: RepositorySpec): string {
  if (spec.type === 'CommonTransportFormat') return `ctf://${spec.filePath}`;
  const base = spec.baseUrl.replace(/\/+$/, '');
  return spec.subPath ? `${base}/${spec.subPath.replace(/^\/+/, '')}` : base;
}
