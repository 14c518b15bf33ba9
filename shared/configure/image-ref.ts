/**
 * OCI image references, parsed the way the Docker/distribution grammar does it:
 * `[registry[:port]/]path[:tag][@algorithm:hex]`. A first component is a registry only when it has a `.` or
 * `:`, is `localhost`, or is a bracketed IPv6 address; otherwise the registry is Docker Hub, and one-component
 * Docker Hub paths get the `library/` prefix.
 *
 * Decision: Docker Hub is written as `docker.io` (the canonical familiar name used by Docker and containerd),
 * not go-containerregistry's `index.docker.io`.
 */
import type { ImageTransformation } from '../ports/configure.js';
import { ImageReferenceError } from './errors.js';

export const DOCKER_HUB = 'docker.io';

export interface ImageReference {
  /** host[:port], `docker.io` for Docker Hub */
  registry: string;
  /** path inside the registry, e.g. `library/nginx` */
  repository: string;
  tag?: string;
  /** `algorithm:hex` */
  digest?: string;
}


const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
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

export function parseImageReference(ref: string): ImageReference {
  if (typeof ref !== 'string' || ref === '') throw new ImageReferenceError(String(ref), 'empty reference');
  if (ref !== ref.trim() || /\s/.test(ref)) throw new ImageReferenceError(ref, 'contains whitespace');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new ImageReferenceError(ref, `bad digest ${JSON.stringify(digest)}`);
    const [algorithm, hex = ''] = digest.split(':');
    if (algorithm === 'sha256' && !/^[a-f0-9]{64}$/.test(hex)) throw new ImageReferenceError(ref, 'sha256 digest needs 64 lowercase hex characters');
    if (algorithm === 'sha512' && !/^[a-f0-9]{128}$/.test(hex)) throw new ImageReferenceError(ref, 'sha512 digest needs 128 lowercase hex characters');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw new ImageReferenceError(ref, `bad tag ${JSON.stringify(tag)}`);
  }
  if (rest === '') throw new ImageReferenceError(ref, 'missing repository');
  let registry = DOCKER_HUB;
  let repository = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash >= 0 && isRegistryLike(rest.slice(0, firstSlash))) {
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
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (registry.length + 1 + repository.length > MAX_NAME) throw new ImageReferenceError(ref, `name longer than ${MAX_NAME} characters`);
  const out: ImageReference = { registry, repository };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

/** `registry/repository[:tag][@digest]`, fully qualified. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/**
 * The part of an image reference a localization rule writes (upstream LocalizationConfig semantics):
 * Image = full reference; ImageNoTag = registry/repository; Registry = host[:port]; Repository = path;
 * Tag = the identifier: digest when present, else tag, else `latest`. Like go-containerregistry, a
 * reference without tag or digest means `:latest`, so Image then ends in `:latest`.
 */
export function transformImageReference(ref: string | ImageReference, transformation: ImageTransformation = 'Image'): string {
  const parsed = typeof ref === 'string' ? parseImageReference(ref) : ref;
  switch (transformation) {
    case 'Image':
      return formatImageReference(parsed.tag === undefined && parsed.digest === undefined ? { ...parsed, tag: 'latest' } : parsed);
    case 'ImageNoTag':
      return `${parsed.registry}/${parsed.repository}`;
    case 'Registry':
      return parsed.registry;
    case 'Repository':
      return parsed.repository;
    case 'Tag':
      return parsed.digest ?? parsed.tag ?? 'latest';
  }
}
