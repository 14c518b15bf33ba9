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

/** The API plural of each kind (as in the CRDs: URL paths, watches, RBAC rules), e.g. PLURALS.Resource = 'resources'. */
export const PLURALS: Readonly<Record<string, string>> = Object.fromEntries(OUR_KINDS.map((k) => [k, KINDS[k].plural]));

export function isOurKind(kind: unknown): kind is OurKind {
  return typeof kind === 'string' && Object.hasOwn(KINDS, kind);
}

export { ComponentKind, ConfigurationKind, OCMRepositoryKind, PublicationKind, ResourceKind, SnapshotKind };
