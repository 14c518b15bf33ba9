/**
 * What a localization rule writes of an image reference. The grammar (Docker's, Docker Hub as `docker.io`) is
 * shared/oci/reference.ts's.
 */
import { formatImageReference, parseImageReference, type ImageReference } from '../oci/reference.js';
import type { ImageTransformation } from '../ports/configure.js';

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
