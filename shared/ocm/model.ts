/**
 * One typed model for component descriptors of both serialisation schemas (v2 and ocm.software/v3alpha1).
 * It mirrors the upstream library's internal model; `schemaVersion` remembers the schema the descriptor came in,
 * because jsonNormalisation/v1 works on that serialisation.
 */

export const SCHEMA_V2 = 'v2';
export const SCHEMA_V3ALPHA1 = 'ocm.software/v3alpha1';
export type SchemaVersion = typeof SCHEMA_V2 | typeof SCHEMA_V3ALPHA1;

/** Any JSON value (label values, access specs). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type Identity = Record<string, string>;

export interface Label {
  name: string;
  value: Json;
  version?: string;
  signing?: boolean;
  merge?: { algorithm?: string; config?: Json };
}

export interface DigestSpec {
  hashAlgorithm: string;
  normalisationAlgorithm: string;
  value: string;
}

/** A typed object with arbitrary further fields (access specs, repository contexts). */
export interface TypedSpec {
  type: string;
  [key: string]: Json;
}

export interface Provider {
  name: string;
  labels?: Label[];
}

export interface SourceRef {
  identitySelector?: Identity;
  labels?: Label[];
}

export interface ElementMeta {
  name: string;
  version: string;
  /** absent when empty */
  extraIdentity?: Identity;
  /** absent when empty */
  labels?: Label[];
}

export interface Resource extends ElementMeta {
  type: string;
  relation?: 'local' | 'external' | string;
  srcRefs?: SourceRef[];
  access?: TypedSpec;
  digest?: DigestSpec;
}

export interface Source extends ElementMeta {
  type: string;
  access?: TypedSpec;
}

export interface ComponentReference extends ElementMeta {
  componentName: string;
  digest?: DigestSpec;
}

export interface SignatureSpec {
  algorithm: string;
  value: string;
  mediaType: string;
  issuer?: string;
}

export interface Signature {
  name: string;
  digest: DigestSpec;
  signature: SignatureSpec;
  timestamp?: { value?: string; time?: string };
}

export interface ComponentDescriptor {
  schemaVersion: SchemaVersion;
  name: string;
  version: string;
  provider: Provider;
  labels?: Label[];
  creationTime?: string;
  repositoryContexts: TypedSpec[];
  sources: Source[];
  references: ComponentReference[];
  resources: Resource[];
  signatures: Signature[];
  /** kept opaque: only carried through, never interpreted */
  nestedDigests?: Json[];
}

/** `name:version`, the usual way to name a component version in messages. */
export function cvName(cd: { name: string; version: string }): string {
  return `${cd.name}:${cd.version}`;
}
