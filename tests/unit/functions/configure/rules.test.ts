import { describe, expect, it } from 'vitest';
import { parseRules } from '../../../../functions/configure/rules.js';
import type { ObjectFailure } from '../../../../shared/ports/index.js';

describe('parseRules', () => {
  it('accepts values and localizations, in order', () => {
    const rules = parseRules(
      [
        { yamlsubst: { source: { value: 3 }, target: { file: { path: 'values.yaml', value: 'replicaCount' } } } },
        {
          yamlsubst: {
            source: { resource: { name: 'image' }, referencePath: [{ name: 'dep' }] },
            target: { file: { path: 'values.yaml', value: 'image.tag' } },
            transformation: { type: 'Tag' },
          },
        },
      ],
      'spec.rules',
    );
    expect(rules).toEqual([
      { file: 'values.yaml', path: 'replicaCount', value: 3 },
      { file: 'values.yaml', path: 'image.tag', resource: { name: 'image' }, referencePath: [{ name: 'dep' }], transformation: 'Tag' },
    ]);
  });

  it.each([
    [[], 'non-empty'],
    [[{ goTemplate: { file: { path: 'a' } } }], 'goTemplate'],
    [[{ yamlsubst: { source: { value: 1 }, target: { file: { path: '../etc/passwd', value: 'a' } } } }], 'inside the archive'],
    [[{ yamlsubst: { source: {}, target: { file: { path: 'a.yaml', value: 'a' } } } }], 'exactly one of value or resource'],
    [[{ yamlsubst: { source: { resource: { name: 'i' } }, target: { file: { path: 'a.yaml', value: 'a' } }, transformation: { type: 'Digest' } } }], 'one of Image'],
  ])('rejects %j with a message naming the problem', (rules, message) => {
    expect(() => parseRules(rules, 'spec.rules')).toThrow(message as string);
    try {
      parseRules(rules, 'spec.rules');
    } catch (err) {
      expect((err as ObjectFailure).reason).toBe('SpecInvalid');
    }
  });
});
