/**
 * The handlers' view of our kinds (shared/ports/kinds.ts) against the types inferred from the CRD schemas
 * (shared/kube/types.ts). The view reads anything the API server admits, except where it deliberately narrows; the
 * type checks here run under `tsc` (npm run typecheck), and an `@ts-expect-error` that stops erroring fails it too,
 * so the narrowings stay exactly these.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { KINDS } from '../../../shared/kube/index.js';
import type * as wire from '../../../shared/kube/types.js';
import * as view from '../../../shared/ports/kinds.js';

describe('the handlers view of our kinds', () => {
  it('reads every spec and status the API server admits (a status with Ready conditions)', () => {
    expectTypeOf<wire.OCMRepositorySpec>().toExtend<view.OCMRepositorySpec>();
    expectTypeOf<wire.ComponentSpec>().toExtend<view.ComponentSpec>();
    expectTypeOf<wire.ResourceSpec>().toExtend<view.ResourceSpec>();
    expectTypeOf<wire.ConfigurationSpec>().toExtend<view.ConfigurationSpec>();
    expectTypeOf<wire.PublicationSpec>().toExtend<view.PublicationSpec>();
    expectTypeOf<Omit<wire.OCMRepositoryStatus, 'conditions'>>().toExtend<view.OCMRepositoryStatus>();
    expectTypeOf<Omit<wire.ResourceStatus, 'conditions'>>().toExtend<view.ResourceStatus>();
    expectTypeOf<Omit<wire.ConfigurationStatus, 'conditions'>>().toExtend<view.ConfigurationStatus>();
    expectTypeOf<Omit<wire.PublicationStatus, 'conditions'>>().toExtend<view.PublicationStatus>();
    expectTypeOf<Omit<wire.SnapshotStatus, 'conditions'>>().toExtend<view.SnapshotStatus>();
  });

  it('narrows only the condition type, a Snapshot tag and the repositorySpec a Component status records', () => {
    // @ts-expect-error a condition of another type than Ready is not in the view
    expectTypeOf<wire.Condition>().toExtend<view.Condition>();
    // @ts-expect-error the CRD admits a Snapshot without a tag; the view has one (every stage writes it)
    expectTypeOf<wire.SnapshotSpec>().toExtend<view.SnapshotSpec>();
    expectTypeOf<wire.SnapshotSpec & { tag: string }>().toExtend<view.SnapshotSpec>();
    // @ts-expect-error the CRD stores any object as status.component.repositorySpec; the view has the parsed one
    expectTypeOf<Omit<wire.ComponentStatus, 'conditions'>>().toExtend<view.ComponentStatus>();
    expectTypeOf<Omit<wire.ComponentStatus, 'conditions' | 'component'>>().toExtend<view.ComponentStatus>();
    // and what the stages write through the view is what the API server admits
    expectTypeOf<view.SnapshotSpec>().toExtend<wire.SnapshotSpec>();
    expectTypeOf<view.ComponentStatus>().toExtend<wire.ComponentStatus>();
  });

  it('names the kinds as shared/kube does', () => {
    expect(view.OUR_KINDS).toEqual(Object.keys(KINDS));
    expect(view.API_VERSION).toBe('serverless.ocm.software/v1alpha1');
    expect(view.isOurKind('Snapshot')).toBe(true);
    expect(view.isOurKind('OCIRepository')).toBe(false);
    expect(view.SNAPSHOT_FINALIZER).toBe('serverless.ocm.software/manifest');
  });
});
