import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lostOutput } from '../../../shared/stagekit/lost-output.js';
import { recordSnapshot } from '../../../shared/stagekit/snapshots.js';
import { NS, rig } from './rig.js';

type Rig = Awaited<ReturnType<typeof rig>>;

describe('lostOutput', () => {
  let r: Rig;
  beforeEach(async () => (r = await rig()));
  afterEach(async () => r.close());

  it('is true only for the manifest the Snapshot references, once the registry confirms it gone', async () => {
    const owner = await r.component();
    const old = await r.push('podinfo', '1.0.0', 'old\n');
    const current = await r.push('podinfo', '1.1.0', 'new\n');
    await recordSnapshot(r.deps, owner, current, { 'component-name': 'c' }, 'sha256:1');
    const key = { kind: 'Component' as const, namespace: NS, name: 'podinfo' };
    // still there: nothing to do
    expect(await lostOutput(r.deps, key, { repository: current.repository, digest: current.digest })).toBe(false);
    // a superseded manifest (our own cleanup sends such events too)
    await r.store.deleteManifest(old.repository, old.digest);
    expect(await lostOutput(r.deps, key, { repository: old.repository, digest: old.digest })).toBe(false);
    await r.store.deleteManifest(current.repository, current.digest);
    expect(await lostOutput(r.deps, key, { repository: current.repository, digest: current.digest })).toBe(true);
    // an object with no Snapshot has nothing to lose
    expect(await lostOutput(r.deps, { ...key, name: 'other' }, { repository: current.repository, digest: current.digest })).toBe(false);
  });
});
