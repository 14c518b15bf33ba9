import { isDigest } from './digest.js';
import { InvalidArgumentError } from './errors.js';

// distribution-spec: <name> and <reference> grammar.
const REPO_RE = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export function isRepositoryName(s: string): boolean {
  return s.length <= 255 && REPO_RE.test(s);
}

export function isTag(s: string): boolean {
  return TAG_RE.test(s);
}

export function assertRepositoryName(s: string): string {
  if (!isRepositoryName(s)) {
    throw new InvalidArgumentError(
      `repository name "${s}" is invalid: lower-case path components [a-z0-9] separated by . _ __ - or /`,
    );
  }
  return s;
}

/** A tag or a digest; throws InvalidArgumentError otherwise. */
export function assertReference(s: string): string {
  if (!isTag(s) && !isDigest(s)) throw new InvalidArgumentError(`reference "${s}" is neither a valid tag nor a digest`);
  return s;
}

/** A parsed `host[:port]/repo[:tag][@digest]`. */
export interface ParsedReference {
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Parses an image reference that includes a registry host (no implicit docker.io). */
export function parseReference(ref: string): ParsedReference {
  let rest = ref.replace(/^oci:\/\//, '').replace(/^https?:\/\//, '');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw new InvalidArgumentError(`reference "${ref}": "${digest}" is not a valid digest`);
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) throw new InvalidArgumentError(`reference "${ref}" has no registry host`);
  const host = rest.slice(0, slash);
  let path = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!isTag(tag)) throw new InvalidArgumentError(`reference "${ref}": "${tag}" is not a valid tag`);
  }
  assertRepositoryName(path);
  return { host, repository: path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}
