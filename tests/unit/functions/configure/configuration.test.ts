import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../../functions/configure/configuration.js';
import { API_VERSION, ObjectFailure, Reason, type ConfigurationObject, type TargetRef } from '../../../../shared/ports/index.js';

const configuration = (target: unknown): ConfigurationObject => ({
  apiVersion: API_VERSION,
  kind: 'Configuration',
  metadata: { name: 'cfg', namespace: 'n' },
  // deliberately unchecked: what a tenant might write
  spec: { target: target as TargetRef },
});

describe('parseTarget', () => {
  it('takes a Resource or another Configuration', () => {
    expect(parseTarget(configuration({ kind: 'Resource', name: 'chart' }))).toEqual({ kind: 'Resource', name: 'chart' });
    expect(parseTarget(configuration({ kind: 'Configuration', name: 'base' }))).toEqual({ kind: 'Configuration', name: 'base' });
  });

  it('refuses anything else, and the Configuration itself, with SpecInvalid in words', () => {
    const message = (target: unknown) => {
      try {
        parseTarget(configuration(target));
        return undefined;
      } catch (e) {
        expect((e as ObjectFailure).reason).toBe(Reason.SpecInvalid);
        return (e as Error).message;
      }
    };
    expect(message(undefined)).toBe('Configuration cfg: spec.target needs kind Resource or Configuration and a name');
    expect(message({ kind: 'Component', name: 'x' })).toBe('Configuration cfg: spec.target needs kind Resource or Configuration and a name');
    expect(message({ kind: 'Configuration', name: 'cfg' })).toBe('Configuration cfg: spec.target cannot be the Configuration itself');
  });
});
