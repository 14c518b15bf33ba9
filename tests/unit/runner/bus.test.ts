/**
 * The runner's bus: events through the wire format to every stage that routes them, at least once; and the
 * delivery contract tests ask of it (Reference mode, duplicates, a seeded shuffle, failing fast).
 */
import { describe, expect, it } from 'vitest';
import { InProcessBus, type BusOptions } from '../../../functions/runner/bus.js';
import { API_VERSION, TransientError, type Hint, type KubeObject, type Stage, type StageName } from '../../../shared/ports/index.js';

/** A stage that records what reaches it and fails as `fail` says (attempt numbers start at 1). */
function recordingStage(name: StageName, fail?: (hint: Hint, attempt: number) => Error | undefined) {
  const seen: Array<{ hint: Hint; eventId: string | undefined }> = [];
  const stage: Stage = {
    name,
    routes: (hint) => hint.type === 'resync' || hint.ref.kind === 'Component',
    async handle(hint, ctx) {
      seen.push({ hint, eventId: ctx?.eventId });
      const err = fail?.(hint, seen.filter((s) => s.eventId === ctx?.eventId).length);
      if (err) throw err;
      return { objects: [] };
    },
  };
  return { stage, seen };
}

const component = (name: string): KubeObject => ({
  apiVersion: API_VERSION,
  kind: 'Component',
  metadata: { name, namespace: 'team-a', uid: `uid-${name}` },
  spec: { component: 'ocm.software/test' },
});

function names(seen: Array<{ hint: Hint }>): string[] {
  return seen.map(({ hint }) => (hint.type === 'object' ? hint.ref.name : 'resync'));
}

async function deliver(opts: BusOptions, count = 8): Promise<string[]> {
  const { stage, seen } = recordingStage('descriptor');
  const bus = new InProcessBus([stage], opts);
  for (let i = 0; i < count; i++) bus.publishChange('add', component(`c${i}`));
  await bus.drain();
  return names(seen);
}

describe('InProcessBus', () => {
  it('by default delivers each event once, in order, in Resource mode, to every stage that routes it', async () => {
    const a = recordingStage('descriptor');
    const b = recordingStage('resource');
    const bus = new InProcessBus([a.stage, b.stage]);
    bus.publishChange('add', component('one'));
    bus.publishChange('update', component('two'));
    expect(await bus.drain()).toBe(4);
    expect(names(a.seen)).toEqual(['one', 'two']);
    expect(names(b.seen)).toEqual(['one', 'two']);
    const first = a.seen[0]!.hint;
    expect(first).toMatchObject({ type: 'object', action: 'add', ref: { kind: 'Component', namespace: 'team-a', name: 'one' } });
    expect(first.type === 'object' && first.object?.metadata.uid).toBe('uid-one');
    expect(bus.published).toBe(2);
  });

  it('Reference mode sends only the reference: the handler must read the object', async () => {
    const { stage, seen } = recordingStage('descriptor');
    const bus = new InProcessBus([stage], { mode: 'Reference' });
    bus.publishChange('add', component('one'));
    await bus.drain();
    expect(seen[0]!.hint).toMatchObject({ type: 'object', ref: { kind: 'Component', name: 'one' } });
    expect(seen[0]!.hint.type === 'object' && seen[0]!.hint.object).toBeFalsy();
  });

  it('duplicate delivers every event twice with the same event id', async () => {
    const { stage, seen } = recordingStage('descriptor');
    const bus = new InProcessBus([stage], { duplicate: true });
    bus.publishChange('add', component('one'));
    await bus.drain();
    expect(names(seen)).toEqual(['one', 'one']);
    expect(seen[0]!.eventId).toBeDefined();
    expect(seen[1]!.eventId).toBe(seen[0]!.eventId);
  });

  it('a shuffle seed gives a different order than FIFO, the same one for the same seed, and loses nothing', async () => {
    const fifo = await deliver({});
    const shuffled = await deliver({ shuffleSeed: 42 });
    expect(shuffled).not.toEqual(fifo);
    expect([...shuffled].sort()).toEqual([...fifo].sort());
    expect(await deliver({ shuffleSeed: 42 })).toEqual(shuffled);
  });

  it('a resync carries its scope through the PingSource event', async () => {
    const { stage, seen } = recordingStage('descriptor');
    const bus = new InProcessBus([stage]);
    bus.resync();
    bus.resync({ namespace: 'team-a', kinds: ['Component'] });
    await bus.drain();
    expect(seen.map((s) => s.hint)).toEqual([{ type: 'resync' }, { type: 'resync', namespace: 'team-a', kinds: ['Component'] }]);
  });

  it('redelivers a transient failure, then dead-letters it; failFast rejects drain() instead', async () => {
    const transient = recordingStage('descriptor', (_hint, attempt) => (attempt < 3 ? new TransientError('busy') : undefined));
    const retried = new InProcessBus([transient.stage], { backoffMs: 0 });
    retried.publishChange('add', component('one'));
    await retried.drain();
    expect(names(transient.seen)).toEqual(['one', 'one', 'one']);
    expect(retried.deadLetters).toEqual([]);

    const broken = () => recordingStage('descriptor', () => new Error('spec.component is wrong'));
    const kept = new InProcessBus([broken().stage], { backoffMs: 0 });
    kept.publishChange('add', component('one'));
    await kept.drain();
    expect(kept.deadLetters.map((d) => d.error)).toEqual(['spec.component is wrong']);

    const strict = new InProcessBus([broken().stage], { backoffMs: 0, failFast: true });
    strict.publishChange('add', component('one'));
    await expect(strict.drain()).rejects.toThrow('spec.component is wrong');
  });

  it('stops a pipeline that does not settle instead of spinning', async () => {
    const { stage } = recordingStage('descriptor');
    const bus = new InProcessBus([stage]);
    for (let i = 0; i < 5; i++) bus.publishChange('add', component(`c${i}`));
    await expect(bus.drain(3)).rejects.toThrow(/did not settle after 3 deliveries/);
  });
});
