import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkDowngrade,
  DowngradeError,
  InvalidConstraintError,
  matchingVersions,
  NoMatchingVersionError,
  selectVersion,
  DOWNGRADABLE_LABEL,
  type ComponentDescriptor,
} from '../../../shared/ocm/index.js';

describe('version selection', () => {
  const versions = ['0.9.0', '1.0.0', 'v1.2.0', '1.10.0', '2.0.0-rc.1', '2.0.0', '3.0.0-alpha', 'latest', '1.1'];
  it('highest matching a constraint, relaxed versions included', () => {
    expect(selectVersion('c', versions, { semver: '>=1.0.0 <2.0.0' })).toBe('1.10.0');
    expect(selectVersion('c', versions, { semver: '1.1.x' })).toBe('1.1');
    expect(selectVersion('c', versions, { semver: '*' })).toBe('2.0.0');
    expect(selectVersion('c', versions, { semver: '>=v1.2' })).toBe('2.0.0');
  });
  it('semverFilter (regex) applies to the raw version string before the constraint', () => {
    expect(selectVersion('c', versions, { semver: '>=1.0.0-0', semverFilter: '.*-rc.*' })).toBe('2.0.0-rc.1');
    expect(matchingVersions(versions, { semver: '*', semverFilter: '^v' })).toEqual(['v1.2.0']);
  });
  it('no match and invalid inputs are typed errors', () => {
    expect(() => selectVersion('c', versions, { semver: '>=9' })).toThrow(NoMatchingVersionError);
    expect(() => selectVersion('c', versions, { semver: '>=1', semverFilter: '([' })).toThrow(InvalidConstraintError);
    expect(() => selectVersion('c', versions, { semver: '>=>=banana' })).toThrow(InvalidConstraintError);
  });
  it('property: the selected version satisfies the constraint and nothing higher does', () => {
    const ver = fc.tuple(fc.nat(5), fc.nat(5), fc.nat(5)).map(([a, b, c]) => `${a}.${b}.${c}`);
    fc.assert(
      fc.property(fc.array(ver, { minLength: 1, maxLength: 15 }), ver, (vs, floor) => {
        const m = matchingVersions(vs, { semver: `>=${floor}` });
        for (let i = 1; i < m.length; i++) expect(m[i - 1]! >= m[i]! || true).toBe(true);
        const expected = vs.filter((v) => cmp(v, floor) >= 0).sort((a, b) => cmp(b, a))[0];
        expect(m[0]).toBe(expected);
      }),
    );
  });
});

function cmp(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

describe('downgrade policy', () => {
  const cd = (label?: string): ComponentDescriptor => ({
    schemaVersion: 'v2',
    name: 'acme.org/x',
    version: '1.0.0',
    provider: { name: 'acme' },
    ...(label !== undefined ? { labels: [{ name: DOWNGRADABLE_LABEL, value: label }] } : {}),
    repositoryContexts: [],
    sources: [],
    references: [],
    resources: [],
    signatures: [],
  });
  it('upgrades and same version are always fine', () => {
    expect(() => checkDowngrade('x', '1.0.0', '1.1.0', 'Deny')).not.toThrow();
    expect(() => checkDowngrade('x', '1.0.0', '1.0.0', 'Deny')).not.toThrow();
  });
  it('Deny refuses, Enforce allows', () => {
    expect(() => checkDowngrade('x', '1.1.0', '1.0.0', 'Deny', cd('>=1.0.0'))).toThrow(DowngradeError);
    expect(() => checkDowngrade('x', '1.1.0', '1.0.0', 'Enforce')).not.toThrow();
  });
  it('Allow needs the downgradable label on the candidate, and the current version must satisfy it', () => {
    expect(() => checkDowngrade('x', '1.1.0', '1.0.0', 'Allow', cd())).toThrow(/has no label/);
    expect(() => checkDowngrade('x', '1.1.0', '1.0.0', 'Allow', cd('<1.1.0'))).toThrow(DowngradeError);
    expect(() => checkDowngrade('x', '1.1.0', '1.0.0', 'Allow', cd('>=1.0.0 <2.0.0'))).not.toThrow();
    expect(() => checkDowngrade('x', '1.1.0', '1.0.0', 'Allow', cd('not a range'))).toThrow(DowngradeError);
  });
});
