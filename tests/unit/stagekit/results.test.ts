import { describe, expect, it } from 'vitest';
import { ObjectFailure, Reason } from '../../../shared/ports/index.js';
import { InProgress, WaitingFor, recordedFailure } from '../../../shared/stagekit/results.js';

describe('results', () => {
  it('waiting and in-progress are object failures with a reason (the frame tells them apart)', () => {
    const waiting = new WaitingFor(Reason.SourceIsNotReady, 'Resource chart not found');
    expect(waiting).toBeInstanceOf(ObjectFailure);
    expect(waiting.reason).toBe(Reason.SourceIsNotReady);
    expect(new InProgress(Reason.TargetIsNotReady, 'x')).not.toBeInstanceOf(WaitingFor);
  });

  it('recordedFailure repeats what a Ready=False condition says', () => {
    const f = recordedFailure({ type: 'Ready', status: 'False', reason: Reason.ConfigurationFailed, message: 'rule 0: no file a.yaml', lastTransitionTime: '2026-01-01T00:00:00Z' });
    expect(f).toBeInstanceOf(ObjectFailure);
    expect(f).toMatchObject({ reason: Reason.ConfigurationFailed, message: 'rule 0: no file a.yaml' });
  });
});
