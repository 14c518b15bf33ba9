import { parse as parseYaml } from 'yaml';
import {
  ObjectFailure,
  Reason,
  type Identity,
  type ImageTransformation,
} from '../../shared/ports/index.js';

/** A rule after validation: either a plain value or a localization from a component resource. */
export type ParsedRule =
  | { file: string; path: string; value: unknown }
  | { file: string; path: string; resource: Identity; referencePath: Identity[]; transformation: ImageTransformation };

const TRANSFORMATIONS: readonly ImageTransformation[] = ['Image', 'ImageNoTag', 'Registry', 'Repository', 'Tag'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIdentity(v: unknown): v is Identity {
  return isRecord(v) && Object.values(v).every((x) => typeof x === 'string') && typeof v['name'] === 'string';
}

/** Validates rules (inline or from a ConfigMap/config Resource); errors name the rule and field. */
export function parseRules(rules: unknown, where: string): ParsedRule[] {
  const bad = (field: string, problem: string) => new ObjectFailure(Reason.SpecInvalid, `${where}${field} ${problem}`);
  if (!Array.isArray(rules) || rules.length === 0) throw bad('', 'must be a non-empty list of rules');
  return rules.map((rule, i): ParsedRule => {
    const at = `[${i}]`;
    if (!isRecord(rule)) throw bad(at, 'must be an object');
    if (rule['goTemplate'] !== undefined) throw bad(`${at}.goTemplate`, 'is not supported yet; use yamlsubst');
    const y = rule['yamlsubst'];
    if (!isRecord(y)) throw bad(`${at}.yamlsubst`, 'is required');
    const target = isRecord(y['target']) && isRecord(y['target']['file']) ? y['target']['file'] : undefined;
    const file = target?.['path'];
    const path = target?.['value'];
    if (typeof file !== 'string' || file === '') throw bad(`${at}.yamlsubst.target.file.path`, 'is required');
    if (file.startsWith('/') || file.split('/').includes('..')) {
      throw bad(`${at}.yamlsubst.target.file.path`, 'must be relative and stay inside the archive');
    }
    if (typeof path !== 'string' || path === '') throw bad(`${at}.yamlsubst.target.file.value`, 'is required');
    const source = y['source'];
    if (!isRecord(source)) throw bad(`${at}.yamlsubst.source`, 'is required');
    const hasValue = 'value' in source;
    const hasResource = source['resource'] !== undefined;
    if (hasValue === hasResource) throw bad(`${at}.yamlsubst.source`, 'needs exactly one of value or resource');
    if (hasValue) return { file, path, value: source['value'] };
    if (!isIdentity(source['resource'])) throw bad(`${at}.yamlsubst.source.resource`, 'must be an identity with a name');
    const refPath = source['referencePath'] ?? [];
    if (!Array.isArray(refPath) || !refPath.every(isIdentity)) {
      throw bad(`${at}.yamlsubst.source.referencePath`, 'must be a list of identities with names');
    }
    const t = isRecord(y['transformation']) ? y['transformation']['type'] : undefined;
    const transformation = (t ?? 'Image') as ImageTransformation;
    if (!TRANSFORMATIONS.includes(transformation)) {
      throw bad(`${at}.yamlsubst.transformation.type`, `must be one of ${TRANSFORMATIONS.join(', ')}`);
    }
    return { file, path, resource: source['resource'], referencePath: refPath, transformation };
  });
}

/** Rules from a ConfigMap key or a config file: a YAML list, or a document with a `rules:` list. */
export function rulesFromText(text: string, where: string): unknown {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new ObjectFailure(Reason.ConfigFetchFailed, `${where}: not valid YAML: ${(err as Error).message}`);
  }
  if (isRecord(doc) && Array.isArray(doc['rules'])) return doc['rules'];
  return doc;
}
