import { describe, expect, it } from 'vitest';
import { closingLine } from '../../../functions/runner/cli.js';

const summary = { registry: 'out/registry', deliveries: 9, events: 7 };

describe('runner closing line', () => {
  it('says "Nothing to do" only when everything is Ready and unchanged', () => {
    expect(closingLine(false, [{ ready: 'True' }, { ready: 'True' }], 'out/objects', 'out', summary)).toBe(
      'Nothing to do: out is up to date (2 objects, no stage changed anything).',
    );
  });

  it('a run where every object failed says so instead of "Nothing to do"', () => {
    const line = closingLine(false, [{ ready: 'False' }, { ready: 'Unknown' }, { ready: 'True' }], 'out/objects', 'out', summary);
    expect(line).toBe('Nothing was applied: 2 of 3 objects are not Ready (reasons above), and no stage produced anything.');
    expect(line).not.toMatch(/Nothing to do/);
  });

  it('a run that changed something names where things are', () => {
    expect(closingLine(true, [{ ready: 'True' }], 'out/objects', 'out', summary)).toBe('1 objects in out/objects; artifacts in out/registry (9 deliveries of 7 events)');
  });
});
