/**
 * Turn `spec.rules` into concrete substitutions: value rules pass through, localization rules get the image
 * reference of a component resource (resolved in the descriptor of the component that owns it) and apply
 * the transformation. goTemplate rules are not supported (they would need Go's text/template + sprig).
 */
import type { ComponentDescriptor, Identity, Resource } from '../ocm/model.js';
import { resolveResource } from '../ocm/resolve.js';
import { LocalizationError, UnsupportedRuleError, ConfigureError } from './errors.js';
import { parseImageReference } from '../oci/reference.js';
import { transformImageReference } from './image-ref.js';
import type { ConfigurationRule, ImageTransformation, Substitution } from './types.js';

/** Finds the image reference for a resource identity (+ reference path) of the component being configured. */
export type ImageResolver = (resource: Identity, referencePath: readonly Identity[]) => string;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function str(access: Record<string, Json>, key: string): string | undefined {
  const v = access[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function baseOf(cd: ComponentDescriptor): string | undefined {
  const ctx = cd.repositoryContexts.at(-1);
  if (!ctx || !/^OCIRegistry(\/v1)?$|^ociRegistry$/.test(ctx.type)) return undefined;
  const baseUrl = typeof ctx['baseUrl'] === 'string' ? ctx['baseUrl'].replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '') : undefined;
  if (!baseUrl) return undefined;
  const subPath = typeof ctx['subPath'] === 'string' ? ctx['subPath'].replace(/^\/+|\/+$/g, '') : '';
  return subPath ? `${baseUrl}/${subPath}` : baseUrl;
}

/**
 * The image reference an access points to: ociArtifact -> imageReference; ociBlob -> ref@digest;
 * relativeOciReference -> the component repository + reference; localBlob -> its globalAccess (if that
 * is one of the former). Anything else has no image reference.
 */
export function imageReferenceOf(resource: Resource, owner: ComponentDescriptor): string {
  const where = `resource ${JSON.stringify(resource.name)} of ${owner.name}:${owner.version}`;
  const visit = (access: Record<string, Json> | undefined, depth: number): string => {
    if (!access || typeof access['type'] !== 'string') throw new ConfigureError(`${where} has no access`);
    const type = access['type'].replace(/\/v1$/, '');
    switch (type) {
      case 'ociArtifact':
      case 'ociRegistry':
      case 'OCIImage': {
        const ref = str(access, 'imageReference');
        if (!ref) throw new ConfigureError(`${where}: ${type} access has no imageReference`);
        return ref;
      }
      case 'ociBlob': {
        const ref = str(access, 'ref') ?? str(access, 'imageReference');
        const digest = str(access, 'digest');
        if (!ref || !digest) throw new ConfigureError(`${where}: ociBlob access needs ref and digest`);
        return `${ref}@${digest}`;
      }
      case 'relativeOciReference': {
        const ref = str(access, 'reference');
        const base = baseOf(owner);
        if (!ref || !base) throw new ConfigureError(`${where}: relativeOciReference needs a reference and an OCIRegistry repository context`);
        return `${base}/${ref}`;
      }
      case 'localBlob': {
        const global = access['globalAccess'];
        if (depth === 0 && global && typeof global === 'object' && !Array.isArray(global)) return visit(global, 1);
        throw new ConfigureError(`${where} is a localBlob without an OCI globalAccess, so it has no image reference`);
      }
      default:
        throw new ConfigureError(`${where}: access type ${JSON.stringify(access['type'])} has no image reference`);
    }
  };
  return visit(resource.access as Record<string, Json> | undefined, 0);
}

/** Resolver over the descriptor list of a descriptor snapshot (root first). */
export function descriptorImageResolver(root: ComponentDescriptor, descriptors: readonly ComponentDescriptor[]): ImageResolver {
  return (resource, referencePath) => {
    const resolved = resolveResource(descriptors, root, resource, referencePath);
    return imageReferenceOf(resolved.resource, resolved.component);
  };
}

/**
 * Compile CRD rules into substitutions, in order. Localization failures (resource missing, no image
 * reference, unparsable reference) are LocalizationError naming the rule.
 */
export function compileRules(rules: readonly ConfigurationRule[], images?: ImageResolver): Substitution[] {
  return rules.map((rule, index): Substitution => {
    if (rule.goTemplate) {
      throw new UnsupportedRuleError(index, 'goTemplate rules are not supported; use yamlsubst (value or resource localization)');
    }
    const subst = rule.yamlsubst;
    if (!subst) throw new ConfigureError(`rule ${index}: needs yamlsubst`);
    const file = subst.target.file.path;
    const path = subst.target.file.value;
    const source = subst.source;
    if (source.resource) {
      if (!images) throw new LocalizationError(index, 'localization needs the component descriptors, none were given');
      const transformation: ImageTransformation = subst.transformation?.type ?? 'Image';
      let reference: string;
      try {
        reference = images(source.resource, source.referencePath ?? []);
        parseImageReference(reference);
      } catch (err) {
        throw new LocalizationError(index, `cannot localize from resource ${JSON.stringify(source.resource)}: ${(err as Error).message}`);
      }
      return { file, path, image: reference, transformation };
    }
    if (!('value' in source) || source.value === undefined) throw new ConfigureError(`rule ${index}: source needs value or resource`);
    return { file, path, value: source.value };
  });
}

/** The value a substitution writes. */
export function substitutionValue(s: Substitution): unknown {
  return 'image' in s ? transformImageReference(s.image, s.transformation) : s.value;
}
