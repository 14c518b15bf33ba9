import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tagToVersion, versionToTag } from '../../../shared/ocm/index.js';

describe('tag mapping', () => {
  it('maps + to .build- and back', () => {
    expect(versionToTag('1.0.0+abc.1')).toBe('1.0.0.build-abc.1');
    expect(tagToVersion('1.0.0.build-abc.1')).toBe('1.0.0+abc.1');
    expect(tagToVersion('1.0.0')).toBe('1.0.0');
  });
  it('reverse mapping uses the last .build- (upstream rule)', () => {
    expect(tagToVersion('1.0.0-x.build-y.build-z')).toBe('1.0.0-x.build-y+z');
  });
  it('property: version -> tag -> version round-trips for OCM versions', () => {
    const ident = fc.stringMatching(/^[0-9A-Za-z-]{1,8}$/);
    const v = fc
      .tuple(fc.boolean(), fc.nat(999), fc.nat(999), fc.nat(999), fc.option(fc.array(ident, { minLength: 1, maxLength: 3 })), fc.option(fc.array(ident, { minLength: 1, maxLength: 3 })))
      .map(([pv, a, b, c, pre, build]) => `${pv ? 'v' : ''}${a}.${b}.${c}${pre ? `-${pre.join('.')}` : ''}${build ? `+${build.join('.')}` : ''}`)
      .filter((s) => !s.split('+')[0]!.includes('.build-'));
    fc.assert(
      fc.property(v, (version) => {
        const tag = versionToTag(version);
        expect(tag).not.toContain('+');
        expect(tag).toMatch(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/);
        expect(tagToVersion(tag)).toBe(version);
      }),
      { numRuns: 500 },
    );
  });
});
