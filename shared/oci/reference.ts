import { isDigest } from './digest.js';
import { ImageReferenceError, InvalidArgumentError } from './errors.js';

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

/**
 * An OCI image reference, parsed the way the Docker/distribution grammar does it:
 * `[registry[:port]/]path[:tag][@algorithm:hex]`. A first component is a registry only when it has a `.` or `:`,
 * is `localhost`, or is a bracketed IPv6 address; otherwise the registry is Docker Hub, and one-component Docker Hub
 * paths get the `library/` prefix. Docker Hub is written `docker.io` (the familiar name Docker and containerd use);
 * `registryHost` gives the host its API answers on.
 */
export interface ImageReference {
  /** host[:port], `docker.io` for Docker Hub */
  registry: string;
  /** path inside the registry, e.g. `library/nginx` */
  repository: string;
  tag?: string;
  /** `algorithm:hex` */
  digest?: string;
  /** the reference was written `http://...`: the registry speaks plain HTTP (only with `scheme`) */
  insecure?: true;
}

export interface ImageReferenceOptions {
  /**
   * The reference names its registry: the first component is the registry whatever it looks like (`zot/app` is
   * registry `zot`), with no Docker Hub default or normalisation. For places that name where to copy from or to.
   */
  explicitRegistry?: boolean;
  /** `oci://`, `https://` or `http://` may precede the reference (OCM writes `http://` for plain-HTTP registries) */
  scheme?: boolean;
}

export const DOCKER_HUB = 'docker.io';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HOST_LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const MAX_NAME = 255;

function isRegistryLike(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

function checkRegistry(ref: string, host: string): void {
  let name = host;
  let port: string | undefined;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) throw new ImageReferenceError(ref, `bad IPv6 registry ${JSON.stringify(host)}`);
    const rest = host.slice(close + 1);
    if (!/^[0-9a-fA-F:.]+$/.test(host.slice(1, close))) throw new ImageReferenceError(ref, `bad IPv6 address in ${JSON.stringify(host)}`);
    if (rest !== '' && !rest.startsWith(':')) throw new ImageReferenceError(ref, `bad registry ${JSON.stringify(host)}`);
    port = rest === '' ? undefined : rest.slice(1);
    name = '';
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      name = host.slice(0, colon);
      port = host.slice(colon + 1);
    }
    if (name === '' || !name.split('.').every((label) => HOST_LABEL.test(label))) {
      throw new ImageReferenceError(ref, `bad registry host ${JSON.stringify(host)}`);
    }
  }
  if (port !== undefined && (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535)) {
    throw new ImageReferenceError(ref, `bad registry port in ${JSON.stringify(host)}`);
  }
}

/** Parses an image reference; throws ImageReferenceError (an InvalidArgumentError) naming what is wrong. */
export function parseImageReference(ref: string, opts: ImageReferenceOptions = {}): ImageReference {
  if (typeof ref !== 'string' || ref === '') throw new ImageReferenceError(String(ref), 'empty reference');
  if (ref !== ref.trim() || /\s/.test(ref)) throw new ImageReferenceError(ref, 'contains whitespace');
  let rest = ref;
  let insecure = false;
  const scheme = opts.scheme ? /^(oci|https?):\/\//.exec(rest) : null;
  if (scheme) {
    insecure = scheme[1] === 'http';
    rest = rest.slice(scheme[0].length);
  }
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ImageReferenceError(ref, `bad digest ${JSON.stringify(digest)}`);
    const [algorithm, hex = ''] = digest.split(':');
    if (algorithm === 'sha256' && !/^[a-f0-9]{64}$/.test(hex)) throw new ImageReferenceError(ref, 'sha256 digest needs 64 lowercase hex characters');
    if (algorithm === 'sha512' && !/^[a-f0-9]{128}$/.test(hex)) throw new ImageReferenceError(ref, 'sha512 digest needs 128 lowercase hex characters');
    // a registry is asked by digest: only the algorithms we can check what it sends against
    if (opts.explicitRegistry && !isDigest(digest)) throw new ImageReferenceError(ref, `${JSON.stringify(digest)} is not a sha256/sha512 digest`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!isTag(tag)) throw new ImageReferenceError(ref, `bad tag ${JSON.stringify(tag)}`);
  }
  if (rest === '') throw new ImageReferenceError(ref, 'missing repository');
  let registry = DOCKER_HUB;
  let repository = rest;
  const firstSlash = rest.indexOf('/');
  if (opts.explicitRegistry) {
    if (firstSlash <= 0) throw new ImageReferenceError(ref, 'no registry host');
    registry = rest.slice(0, firstSlash);
    repository = rest.slice(firstSlash + 1);
    checkRegistry(ref, registry);
  } else if (firstSlash >= 0 && isRegistryLike(rest.slice(0, firstSlash))) {
    registry = rest.slice(0, firstSlash);
    repository = rest.slice(firstSlash + 1);
    checkRegistry(ref, registry);
  }
  if (repository === '') throw new ImageReferenceError(ref, 'missing repository');
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw new ImageReferenceError(ref, `bad repository component ${JSON.stringify(component)} (lowercase letters, digits, separators)`);
    }
  }
  if (!opts.explicitRegistry) {
    if (registry === 'index.docker.io') registry = DOCKER_HUB;
    if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  }
  if (registry.length + 1 + repository.length > MAX_NAME) throw new ImageReferenceError(ref, `name longer than ${MAX_NAME} characters`);
  const out: ImageReference = { registry, repository };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  if (insecure) out.insecure = true;
  return out;
}

/** `registry/repository[:tag][@digest]`, fully qualified. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The host a registry's API answers on: Docker Hub's is not `docker.io`. */
export function registryHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}
