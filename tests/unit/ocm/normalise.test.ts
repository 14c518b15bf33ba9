import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { digestDescriptor, normaliseDescriptor, parseComponentDescriptor } from '../../../shared/ocm/index.js';
import { entryEncode, jcsEncode } from '../../../shared/ocm/normalise.js';
import { UnsupportedNormalisationError } from '../../../shared/ocm/errors.js';
import { TESTDATA } from './testdata.js';

const dir = join(TESTDATA, 'normalisation');
interface Case {
  name: string;
  input: string;
  expected: Record<string, { normalised?: string; sha256?: string; sha512?: string }>;
}
const cases = (JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as { cases: Case[] }).cases;

describe('golden normalisation vectors (tests/fixtures/upstream/ocm/normalisation)', () => {
  it('covers every case in cases.json', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });
  for (const c of cases) {
    for (const [alg, exp] of Object.entries(c.expected)) {
      it(`${c.name} ${alg}`, () => {
        const cd = parseComponentDescriptor(readFileSync(join(dir, c.input)));
        const bytes = normaliseDescriptor(cd, alg);
        let checks = 0;
        if (exp.normalised) {
          expect(bytes.toString('utf8')).toBe(readFileSync(join(dir, exp.normalised), 'utf8'));
          checks++;
        }
        if (exp.sha256) {
          expect(digestDescriptor(cd, alg, 'SHA-256')).toBe(readFileSync(join(dir, exp.sha256), 'utf8').trim());
          checks++;
        }
        if (exp.sha512) {
          expect(digestDescriptor(cd, alg, 'SHA-512')).toBe(readFileSync(join(dir, exp.sha512), 'utf8').trim());
          checks++;
        }
        expect(checks).toBeGreaterThan(0);
      });
    }
  }

  it('normalisation does not mutate the descriptor (legacy defaulting works on a copy)', () => {
    const cd = parseComponentDescriptor(readFileSync(join(dir, 'compdesc-duplicate-resource.input.yaml')));
    const before = JSON.stringify(cd);
    normaliseDescriptor(cd, 'jsonNormalisation/v1');
    normaliseDescriptor(cd, 'jsonNormalisation/v2');
    expect(JSON.stringify(cd)).toBe(before);
  });

  it('rejects unknown algorithms with a typed error', () => {
    const cd = parseComponentDescriptor(readFileSync(join(dir, 'hashcmd-empty.input.yaml')));
    expect(() => normaliseDescriptor(cd, 'jsonNormalisation/v9')).toThrow(UnsupportedNormalisationError);
  });
});

describe('engine primitives (generic/engine-primitives.json)', () => {
  const prim = JSON.parse(readFileSync(join(TESTDATA, 'generic/engine-primitives.json'), 'utf8')) as {
    cases: { name: string; normalisation: string; rules?: string; input: unknown; inputYaml?: string; expectedCompact?: string; expected?: Record<string, string> }[];
  };
  for (const c of prim.cases) {
    const compact = c.expectedCompact ?? (c as Record<string, unknown>)['expectedCompact(derived: Formatted without insignificant whitespace)'];
    if (c.normalisation.startsWith('entry') && (c.rules ?? 'NoExcludes') === 'NoExcludes' && typeof compact === 'string') {
      it(`entry: ${c.name}`, () => {
        const input = c.inputYaml ? (parse(c.inputYaml) as unknown) : c.input;
        expect(entryEncode(input)).toBe(compact);
      });
    }
    if (c.normalisation.startsWith('jcs') && c.expected?.['NoExcludes']) {
      it(`jcs: ${c.name}`, () => {
        expect(jcsEncode(c.input)).toBe(c.expected!['NoExcludes']);
      });
    }
  }
  it('jcs sorts keys by UTF-16 code units and uses ES6 number form', () => {
    expect(jcsEncode({ b: 1, a: [1.5, 1e21, 'x\u2028'], '\u00e9': true })).toBe('{"a":[1.5,1e+21,"x\u2028"],"b":1,"\u00e9":true}');
  });
  it('entry escapes like Go encoding/json without HTML escaping', () => {
    expect(entryEncode({ s: '<&>\b\f\u2028' })).toBe('[{"s":"<&>\\u0008\\u000c\\u2028"}]');
  });
});
