import { ComponentKind } from './component.js';
import { ConfigurationKind } from './configuration.js';
import { OCMRepositoryKind } from './ocmrepository.js';
import { PublicationKind } from './publication.js';
import { ResourceKind } from './resource.js';
import { SnapshotKind } from './snapshot.js';

/** Every kind of group serverless.ocm.software, in pipeline order. */
export const KINDS = {
  OCMRepository: OCMRepositoryKind,
  Component: ComponentKind,
  Resource: ResourceKind,
  Configuration: ConfigurationKind,
  Publication: PublicationKind,
  Snapshot: SnapshotKind,
} as const;

export type OurKind = keyof typeof KINDS;
export const OUR_KINDS = Object.keys(KINDS) as OurKind[];

export function isOurKind(kind: unknown): kind is OurKind {
  return typeof kind === 'string' && Object.hasOwn(KINDS, kind);
}

export { ComponentKind, ConfigurationKind, OCMRepositoryKind, PublicationKind, ResourceKind, SnapshotKind };
