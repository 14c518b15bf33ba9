/**
 * Version selection: regex filter (`semverFilter`), highest version matching a semver constraint, and the
 * downgrade policy of the upstream toolkit (Allow via label, Deny, Enforce).
 */
import semver from 'semver';
import { DowngradeError, InvalidConstraintError, NoMatchingVersionError } from './errors.js';
import type { ComponentDescriptor } from './model.js';

export type DowngradePolicy = 'Allow' | 'Deny' | 'Enforce';

/** Label on the *candidate* version holding a semver constraint the *current* version must satisfy to allow a downgrade. */
export const DOWNGRADABLE_LABEL = 'ocm.software/ocm-k8s-toolkit/downgradable';

export interface VersionSelection {
  /** semver constraint, e.g. `>=1.0.0` or `1.x` (a leading `v` on versions is tolerated) */
  semver: string;
  /** regular expression the raw version string must match */
  semverFilter?: string;
}

/** Relaxed OCM versions (`v1`, `1.2`, `v1.2.3-rc.1+b`) coerced to full semver; undefined when not a version. */
export function toSemver(v: string): semver.SemVer | undefined {
  const strict = semver.parse(v, { loose: true });
  if (strict) return strict;
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(v);
  if (!m) return undefined;
  return semver.parse(`${m[1]}.${m[2] ?? '0'}.${m[3] ?? '0'}${m[4] ?? ''}${m[5] ?? ''}`) ?? undefined;
}

export function compareVersions(a: string, b: string): number {
  const sa = toSemver(a);
  const sb = toSemver(b);
  if (sa && sb) return semver.compareBuild(sa, sb);
  if (sa) return 1;
  if (sb) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function constraintRange(constraint: string): semver.Range {
  try {
    // Masterminds/semver (upstream) lets a constraint that names a pre-release match pre-releases of any
    // version; node-semver only of the same x.y.z unless includePrerelease is set
    const hasPre = /[0-9xX*]-[0-9A-Za-z]/.test(constraint);
    return new semver.Range(constraint.trim() || '*', { loose: true, includePrerelease: hasPre });
  } catch (err) {
    throw new InvalidConstraintError('semver constraint', constraint, (err as Error).message);
  }
}

function filterRegex(filter: string): RegExp {
  try {
    return new RegExp(filter);
  } catch (err) {
    throw new InvalidConstraintError('semverFilter', filter, (err as Error).message);
  }
}

/** Versions matching filter + constraint, highest first. */
export function matchingVersions(versions: string[], sel: VersionSelection): string[] {
  const range = constraintRange(sel.semver);
  const re = sel.semverFilter ? filterRegex(sel.semverFilter) : undefined;
  return versions
    .filter((v) => (re ? re.test(v) : true))
    .filter((v) => {
      const s = toSemver(v);
      return s !== undefined && range.test(s);
    })
    .sort((a, b) => compareVersions(b, a));
}

/** The highest version that passes filter and constraint; NoMatchingVersionError otherwise. */
export function selectVersion(component: string, versions: string[], sel: VersionSelection): string {
  const m = matchingVersions(versions, sel);
  if (m.length === 0) throw new NoMatchingVersionError(component, sel.semver, sel.semverFilter, versions);
  return m[0]!;
}

/**
 * Whether moving from `current` to `candidate` is allowed. Only called for real downgrades.
 * Allow: the candidate's descriptor must carry the downgradable label whose value (a semver constraint)
 * the current version satisfies. Deny: never. Enforce: always.
 */
export function checkDowngrade(
  component: string,
  current: string,
  candidate: string,
  policy: DowngradePolicy,
  candidateDescriptor?: ComponentDescriptor,
): void {
  if (compareVersions(candidate, current) >= 0) return;
  if (policy === 'Enforce') return;
  if (policy === 'Deny') throw new DowngradeError(component, current, candidate, 'downgradePolicy is Deny');
  const label = candidateDescriptor?.labels?.find((l) => l.name === DOWNGRADABLE_LABEL);
  if (!label) throw new DowngradeError(component, current, candidate, `version ${candidate} has no label ${DOWNGRADABLE_LABEL}`);
  if (typeof label.value !== 'string') {
    throw new DowngradeError(component, current, candidate, `label ${DOWNGRADABLE_LABEL} must be a semver constraint string`);
  }
  let range: semver.Range;
  try {
    range = new semver.Range(label.value, { loose: true });
  } catch {
    throw new DowngradeError(component, current, candidate, `label ${DOWNGRADABLE_LABEL} value "${label.value}" is not a semver constraint`);
  }
  const cur = toSemver(current);
  if (!cur || !range.test(cur)) {
    throw new DowngradeError(component, current, candidate, `current version does not satisfy ${DOWNGRADABLE_LABEL} "${label.value}"`);
  }
}
