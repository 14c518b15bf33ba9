import type { ComponentObject, VerifySpec } from '../../shared/ports/index.js';
import { ObjectFailure, Reason } from '../../shared/ports/index.js';
import { intervalOf } from '../../shared/stagekit/interval.js';

export interface ComponentInput {
  repositoryName: string;
  component: string;
  semver: string;
  semverFilter?: string;
  downgradePolicy: 'Allow' | 'Deny' | 'Enforce';
  verify: VerifySpec[];
  /** spec.interval: how often resync ticks ask the repository for new versions */
  intervalMs: number;
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
    intervalMs: intervalOf(obj),
    repositoryName: s.repositoryRef!.name,
    component: s.component!,
    semver: s.semver!,
    semverFilter: s.semverFilter,
    downgradePolicy: policy,
    verify,
  };
}

