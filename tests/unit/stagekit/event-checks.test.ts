import { describe, expect, it } from 'vitest';
import { API_VERSION, FLUX_SOURCE_API_VERSION, type Hint } from '../../../shared/ports/index.js';
import { foreignKindProblem } from '../../../shared/stagekit/event-checks.js';

const hint = (kind: string, apiVersion?: string): Hint => ({
  type: 'object',
  action: 'update',
  ref: { ...(apiVersion ? { apiVersion } : {}), kind, namespace: 'n', name: 'x' },
});

describe('foreignKindProblem', () => {
  it('accepts our kinds (with or without apiVersion), the Flux OCIRepositories we write, and resync ticks', () => {
    expect(foreignKindProblem(hint('Component', API_VERSION), API_VERSION)).toBeUndefined();
    expect(foreignKindProblem(hint('Snapshot'), API_VERSION)).toBeUndefined();
    expect(foreignKindProblem(hint('OCIRepository', FLUX_SOURCE_API_VERSION), API_VERSION)).toBeUndefined();
    expect(foreignKindProblem({ type: 'resync' }, API_VERSION)).toBeUndefined();
  });

  it('names the problem of a kind that is not ours, or of our kind in another version', () => {
    expect(foreignKindProblem(hint('Deployment', 'apps/v1'), API_VERSION)).toMatch(/^event for apps\/v1 Deployment n\/x: kind Deployment is not one of ours \(/);
    expect(foreignKindProblem(hint('Component', 'serverless.ocm.software/v2'), API_VERSION)).toBe(
      `event for serverless.ocm.software/v2 Component n/x: apiVersion serverless.ocm.software/v2 is not ${API_VERSION}`,
    );
    expect(foreignKindProblem(hint('OCIRepository', 'example.com/v1'), API_VERSION)).toMatch(/not one of ours/);
  });
});
