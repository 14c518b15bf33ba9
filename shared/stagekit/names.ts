import { digestOf } from '../oci/digest.js';

const MAX_NAME = 253;

/** Deterministic Snapshot name `<kind-lowercase>-<owner-name>` (docs/design.md §3), hashed suffix when too long. */
export function snapshotName(ownerKind: string, ownerName: string): string {
  const name = `${ownerKind.toLowerCase()}-${ownerName}`;
  if (name.length <= MAX_NAME) return name;
  const hash = digestOf(name).slice('sha256:'.length).slice(0, 10);
  return `${name.slice(0, MAX_NAME - 11).replace(/[-.]+$/, '')}-${hash}`;
}

/** Inverse of snapshotName for the untruncated case; used when a delete event carries no owner references. */
export function ownerFromSnapshotName(name: string): { kind: string; name: string } | undefined {
  for (const kind of ['Component', 'Resource', 'Configuration']) {
    const prefix = `${kind.toLowerCase()}-`;
    if (name.startsWith(prefix) && name.length > prefix.length) return { kind, name: name.slice(prefix.length) };
  }
  return undefined;
}

/** `<namespace>/<kind-lowercase>/<name>` (docs/design.md §6); k8s names are already valid OCI path components. */
export function repositoryName(namespace: string, kind: string, name: string): string {
  return `${namespace}/${kind.toLowerCase()}/${name}`;
}

/** OCI tag from a version: `+` -> `.build-`, anything else outside the tag grammar -> `-`. */
export function tagFor(version: string): string {
  const t = version.replace(/\+/g, '.build-').replace(/[^A-Za-z0-9_.-]/g, '-');
  const trimmed = /^[A-Za-z0-9_]/.test(t) ? t : `v${t}`;
  return trimmed.slice(0, 128);
}
