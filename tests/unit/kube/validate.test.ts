import { describe, expect, it } from 'vitest';
import { admitObject, formatIssue, validateObject } from '../../../shared/kube/validate/index.js';
import { DEFAULTS, getPath, INVALID, VALID, validSnapshot, WEBHOOK_DENIED } from '../../fixtures/kube/corpus.js';

describe('validateObject (schema + CEL + semantic, same rules as the CRDs)', () => {
  it.each(VALID.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))('accepts %s', (_n, obj) => {
    expect(validateObject(obj).map(formatIssue)).toEqual([]);
  });

  it.each(DEFAULTS.map(([o, p, v]) => [`${o.kind}/${o.metadata.name} ${p}`, o, p, v] as const))('defaults %s', (_n, obj, path, value) => {
    expect(getPath(obj, path)).toBeUndefined();
    expect(getPath(admitObject(obj).object, path)).toEqual(value);
  });

  it.each([...INVALID, ...WEBHOOK_DENIED].map((c) => [c.title, c] as const))('rejects: %s', (_t, c) => {
    const issues = validateObject(c.object).filter((i) => i.severity === 'error');
    expect(issues.map((i) => i.path)).toContain(c.path);
    expect(issues.map(formatIssue).join('\n')).toContain(c.message);
  });

  it('reports one issue for one mistake (semantic checks skip fields the schema already rejected)', () => {
    const c = INVALID.find((x) => x.path === 'spec.repositorySpec.type')!;
    expect(validateObject(c.object).filter((i) => i.severity === 'error')).toHaveLength(1);
  });

  it('rejects a change of an immutable field only on update', () => {
    const moved = structuredClone(validSnapshot);
    moved.spec.repository = 'default/resource/elsewhere';
    expect(validateObject(moved)).toEqual([]);
    const issues = validateObject(moved, { old: validSnapshot });
    expect(issues.map(formatIssue)).toEqual(['spec.repository: repository is immutable (one repository per producer)']);
    expect(validateObject(validSnapshot, { old: validSnapshot })).toEqual([]);
  });

  it('prunes and reports undeclared fields, drops nulls, keeps free-form values', () => {
    const obj = structuredClone(validConfigurationWithExtras());
    const { object, issues } = admitObject(obj);
    expect(issues.map(formatIssue)).toEqual(['spec.colour: unknown field (not declared in the schema)']);
    expect(getPath(object, 'spec.colour')).toBeUndefined();
    expect(getPath(object, 'spec.suspend')).toBe(false); // null was dropped, then defaulted
    const rules = getPath(object, 'spec.rules') as Array<{ yamlsubst: { source: { value: unknown } } }>;
    expect(rules[0]!.yamlsubst.source.value).toEqual({ nested: [1, 'two', null] });
    expect(admitObject(obj, { strictFields: false }).issues).toEqual([]);
  });

  it('checks apiVersion, kind and metadata', () => {
    expect(validateObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: {} }).map((i) => i.path)).toEqual(['apiVersion', 'kind']);
    expect(validateObject(null).map(formatIssue)).toEqual(['expected an object (a YAML/JSON mapping)']);
    const badName = { ...validSnapshot, metadata: { name: 'Bad_Name', namespace: 'Not A Label' } };
    expect(validateObject(badName).map((i) => i.path)).toEqual(['metadata.name', 'metadata.namespace']);
  });

  it('a blocking schema error (type, enum, required, too long, too many) stops all CEL rules, as in the apiserver', () => {
    const obj = structuredClone(validSnapshot) as unknown as { spec: { blob: { size: unknown } } };
    obj.spec.blob.size = 'big';
    expect(validateObject(obj).map(formatIssue)).toEqual([
      'spec.blob.size: Invalid value: "string": must be of type integer',
      'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    ]);
    // a non-blocking one (pattern, minimum, minProperties...) does not: both problems are reported
    const both = structuredClone(validConfigurationWithExtras()) as { spec: Record<string, unknown> };
    delete both.spec['colour'];
    both.spec['configRef'] = { kind: 'ConfigMap', name: 'x' };
    (both.spec['target'] as { name: string }).name = 'Not_A_Name';
    expect(validateObject(both).map((i) => `${i.source} ${i.path}`)).toEqual(['schema spec.target.name', 'cel spec']);
  });
});

function validConfigurationWithExtras(): unknown {
  return {
    apiVersion: 'serverless.ocm.software/v1alpha1',
    kind: 'Configuration',
    metadata: { name: 'extras' },
    spec: {
      colour: 'blue',
      suspend: null,
      target: { kind: 'Resource', name: 'x' },
      rules: [{ yamlsubst: { source: { value: { nested: [1, 'two', null] } }, target: { file: { path: 'a.yaml', value: 'a.b' } } } }],
    },
  };
}
