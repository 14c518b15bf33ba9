import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DescriptorParseError,
  DescriptorTooLargeError,
  DescriptorValidationError,
  OcmError,
  parseComponentDescriptor,
  parseDescriptorList,
  serializeComponentDescriptor,
  serializeDescriptorList,
  digestDescriptor,
  type ComponentDescriptor,
} from '../../../shared/ocm/index.js';
import { TESTDATA } from './testdata.js';
import { thrownBy } from '../../support/thrown.js';

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? yamlFiles(p) : p.endsWith('.yaml') ? [p] : [];
  });
}

describe('real descriptors parse and validate', () => {
  const files = [...yamlFiles(join(TESTDATA, 'descriptors')), ...yamlFiles(join(TESTDATA, 'normalisation')), ...yamlFiles(join(TESTDATA, 'signed')), ...yamlFiles(join(TESTDATA, 'spec-examples'))];
  it('finds the golden descriptors', () => expect(files.length).toBeGreaterThanOrEqual(43));
  for (const f of files) {
    it(f.slice(TESTDATA.length + 1), () => {
      const cd = parseComponentDescriptor(readFileSync(f));
      expect(cd.name).toMatch(/\//);
      expect(cd.version).not.toBe('');
      // serialise -> parse is stable in both schemas and both formats
      for (const schema of ['v2', 'ocm.software/v3alpha1'] as const) {
        for (const format of ['yaml', 'json'] as const) {
          const again = parseComponentDescriptor(serializeComponentDescriptor(cd, format, schema));
          expect({ ...again, schemaVersion: cd.schemaVersion }).toEqual(cd);
        }
      }
    });
  }

  it('the v2 and v3alpha1 forms of the same descriptor give the same model and the same v3 digest', () => {
    const v2 = parseComponentDescriptor(readFileSync(join(TESTDATA, 'descriptors/conversion/introspect.v2.yaml')));
    const v3 = parseComponentDescriptor(readFileSync(join(TESTDATA, 'descriptors/conversion/introspect.v3alpha1.yaml')));
    expect(v2.schemaVersion).toBe('v2');
    expect(v3.schemaVersion).toBe('ocm.software/v3alpha1');
    expect({ ...v3, schemaVersion: 'v2' }).toEqual(v2);
    expect(digestDescriptor(v2, 'jsonNormalisation/v3')).toBe(digestDescriptor(v3, 'jsonNormalisation/v3'));
  });

  it('descriptor list (descriptor-stage layer) round-trips', () => {
    const cds = ['compdesc-cd1', 'hashcmd-ref-x', 'compdesc-complex-provider-v3schema'].map((n) => parseComponentDescriptor(readFileSync(join(TESTDATA, `normalisation/${n}.input.yaml`))));
    expect(parseDescriptorList(serializeDescriptorList(cds))).toEqual(cds);
  });
});

describe('bad input gives typed errors naming the field', () => {
  const good = readFileSync(join(TESTDATA, 'normalisation/hashcmd-resource.input.yaml'), 'utf8');
  it('broken YAML', () => {
    expect(() => parseComponentDescriptor('component: [unclosed\n  name: x')).toThrow(DescriptorParseError);
    expect(() => parseComponentDescriptor('a: 1\na: 2\n')).toThrow(DescriptorParseError);
  });
  it('not a mapping', () => {
    expect(() => parseComponentDescriptor('- 1\n- 2\n')).toThrow(DescriptorParseError);
  });
  it('unknown schema version names meta.schemaVersion', () => {
    const e = thrownBy(() => parseComponentDescriptor(good.replace('schemaVersion: v2', 'schemaVersion: v9')));
    expect(e).toBeInstanceOf(DescriptorValidationError);
    expect((e as DescriptorValidationError).path).toBe('/meta/schemaVersion');
  });
  it('missing resource type names the field path', () => {
    const e = thrownBy(() => parseComponentDescriptor(good.replace('    type: plainText\n', '')));
    expect(e).toBeInstanceOf(DescriptorValidationError);
    expect((e as DescriptorValidationError).path).toBe('/component/resources/0/type');
  });
  it('invalid component name names the field path', () => {
    const e = thrownBy(() => parseComponentDescriptor(good.replace('name: test.de/x', 'name: NotAComponent')));
    expect(e).toBeInstanceOf(DescriptorValidationError);
    expect((e as DescriptorValidationError).path).toBe('/component/name');
    expect((e as Error).message).toContain('/component/name');
  });
  it('wrong type of relation', () => {
    const e = thrownBy(() => parseComponentDescriptor(good.replace('relation: local', 'relation: sideways')));
    expect((e as DescriptorValidationError).path).toMatch(/^\/component\/resources\/0/);
  });
  it('YAML alias bomb is refused', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 9; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`);
    const e = thrownBy(() => parseComponentDescriptor(bomb.join('\n')));
    expect(e).toBeInstanceOf(DescriptorParseError);
  });
  it('oversized documents are refused before parsing', () => {
    expect(() => parseComponentDescriptor('x'.repeat(2000), { maxBytes: 1000 })).toThrow(DescriptorTooLargeError);
  });
});


// ------------------------------------------------------------------------------------------------------------
// property tests

const seg = fc.stringMatching(/^[a-z][a-z0-9]{1,6}$/);
const componentName = fc.tuple(seg, seg, fc.array(seg, { minLength: 1, maxLength: 3 })).map(([a, b, rest]) => `${a}.${b}.de/${rest.join('/')}`);
const version = fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20), fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { nil: undefined })).map(
  ([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre}` : ''}`,
);
const labelValue: fc.Arbitrary<ComponentDescriptor['labels'] extends (infer L)[] | undefined ? L extends { value: infer V } ? V : never : never> = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.boolean(),
  fc.dictionary(seg, fc.string(), { maxKeys: 3 }),
);
const labels = fc.option(
  fc.array(fc.record({ name: seg, value: labelValue, signing: fc.constantFrom(true, undefined) }).map((l) => (l.signing ? l : { name: l.name, value: l.value })), {
    minLength: 1,
    maxLength: 3,
  }),
  { nil: undefined },
);
const identityKey = fc.stringMatching(/^[a-z][a-z0-9]{1,5}$/).filter((k) => k !== 'name');
const extraIdentity = fc.option(fc.dictionary(identityKey, fc.string({ maxLength: 8 }), { minKeys: 1, maxKeys: 2 }), { nil: undefined });
const digest = fc.record({ hashAlgorithm: fc.constant('SHA-256'), normalisationAlgorithm: fc.constant('genericBlobDigest/v1'), value: fc.stringMatching(/^[0-9a-f]{64}$/) });

const descriptor: fc.Arbitrary<ComponentDescriptor> = fc
  .record({
    schemaVersion: fc.constantFrom('v2' as const, 'ocm.software/v3alpha1' as const),
    name: componentName,
    version,
    provider: fc.record({ name: seg, labels }),
    labels,
    resources: fc.array(
      fc.record({ name: seg, version, type: seg, relation: fc.constantFrom('local', 'external'), extraIdentity, labels, digest: fc.option(digest, { nil: undefined }) }),
      { maxLength: 4 },
    ),
    references: fc.array(fc.record({ name: seg, componentName, version, extraIdentity, labels }), { maxLength: 3 }),
  })
  .map((r) => {
    const strip = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
    return {
      schemaVersion: r.schemaVersion,
      name: r.name,
      version: r.version,
      provider: strip(r.provider),
      ...(r.labels ? { labels: r.labels } : {}),
      repositoryContexts: [],
      sources: [],
      references: r.references.map(strip),
      resources: r.resources.map((x) => ({ ...strip(x), access: { type: 'localBlob', localReference: `sha256:${'0'.repeat(64)}`, mediaType: 'text/plain' } })),
      signatures: [],
    } as ComponentDescriptor;
  });

describe('descriptor parser properties (fast-check)', () => {
  it('serialise -> parse is the identity (YAML and JSON, both schemas)', () => {
    fc.assert(
      fc.property(descriptor, fc.constantFrom('yaml' as const, 'json' as const), (cd, format) => {
        const again = parseComponentDescriptor(serializeComponentDescriptor(cd, format));
        expect(again).toEqual(cd);
      }),
      { numRuns: 150 },
    );
  });
  it('the v3 digest is independent of the serialisation schema', () => {
    fc.assert(
      fc.property(descriptor, (cd) => {
        const other = parseComponentDescriptor(serializeComponentDescriptor(cd, 'yaml', cd.schemaVersion === 'v2' ? 'ocm.software/v3alpha1' : 'v2'));
        expect(digestDescriptor(other, 'jsonNormalisation/v3')).toBe(digestDescriptor(cd, 'jsonNormalisation/v3'));
      }),
      { numRuns: 100 },
    );
  });
  it('arbitrary text never crashes: it parses or throws an OcmError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.string().map((s) => `component:\n  name: ${s}\nmeta:\n  schemaVersion: v2\n`)), (text) => {
        try {
          parseComponentDescriptor(text);
        } catch (e) {
          expect(e).toBeInstanceOf(OcmError);
        }
      }),
      { numRuns: 300 },
    );
  });
  it('mutating a valid descriptor object never crashes the parser', () => {
    const base = JSON.parse(JSON.stringify(parseYamlSafe())) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.constantFrom('component', 'meta'), fc.anything(), (key, value) => {
        const doc = { ...base, [key]: value };
        try {
          parseComponentDescriptor(doc);
        } catch (e) {
          expect(e).toBeInstanceOf(OcmError);
        }
      }),
      { numRuns: 200 },
    );
  });
});

function parseYamlSafe(): unknown {
  return JSON.parse(serializeComponentDescriptor(parseComponentDescriptor(readFileSync(join(TESTDATA, 'normalisation/compdesc-cd1.input.yaml'))), 'json'));
}
