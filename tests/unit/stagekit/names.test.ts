import { describe, expect, it } from 'vitest';
import { ownerFromSnapshotName, repositoryName, snapshotName, tagFor } from '../../../shared/stagekit/names.js';

describe('names', () => {
  it('Snapshot names are <kind>-<owner>, hashed when longer than 253, and parse back', () => {
    expect(snapshotName('Component', 'podinfo')).toBe('component-podinfo');
    expect(ownerFromSnapshotName('configuration-chart')).toEqual({ kind: 'Configuration', name: 'chart' });
    expect(ownerFromSnapshotName('probe')).toBeUndefined();
    const long = snapshotName('Configuration', 'a'.repeat(300));
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/^configuration-a+-[0-9a-f]{10}$/);
    expect(snapshotName('Configuration', 'a'.repeat(300))).toBe(long);
    expect(snapshotName('Configuration', `${'a'.repeat(299)}b`)).not.toBe(long);
  });

  it('tags: + becomes .build-, other characters outside the grammar are replaced', () => {
    expect(tagFor('1.0.0+build.5')).toBe('1.0.0.build-build.5');
    expect(tagFor('v1.2.3')).toBe('v1.2.3');
    expect(tagFor('.hidden')).toMatch(/^[A-Za-z0-9_]/);
    expect(tagFor('1'.repeat(200))).toHaveLength(128);
  });

  it('repositories are <namespace>/<kind-lowercase>/<name>', () => {
    expect(repositoryName('team-a', 'Configuration', 'chart')).toBe('team-a/configuration/chart');
  });
});
