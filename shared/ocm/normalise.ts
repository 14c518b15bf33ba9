/**
 * Component descriptor normalisation (the bytes a component-version digest and signature are computed over):
 * jsonNormalisation/v1 ("entry" encoding of the schema serialisation), /v2 and /v3 (RFC 8785 JCS of the
 * internal model). Behaviour is pinned by the golden vectors in tests/fixtures/upstream/ocm/normalisation.
 */
import { createHash } from 'node:crypto';
import { UnsupportedDigestError, UnsupportedNormalisationError } from './errors.js';
import { SCHEMA_V2, type ComponentDescriptor } from './model.js';
import { cloneDescriptor, toInternalObject, toV2Object, toV3alpha1Object } from './descriptor.js';

export const JSON_NORMALISATION_V1 = 'jsonNormalisation/v1';
export const JSON_NORMALISATION_V2 = 'jsonNormalisation/v2';
export const JSON_NORMALISATION_V3 = 'jsonNormalisation/v3';
/** upstream registers v4alpha1 as an alias of v3 */
export const JSON_NORMALISATION_V4ALPHA1 = 'jsonNormalisation/v4alpha1';
export const NORMALISATIONS = [JSON_NORMALISATION_V1, JSON_NORMALISATION_V2, JSON_NORMALISATION_V3, JSON_NORMALISATION_V4ALPHA1] as const;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------------------------
// encoders

/** Go's encoding/json string escaping with EscapeHTML(false): like JSON.stringify, but \b, \f, U+2028, U+2029 as \uXXXX. */
function goString(s: string): string {
  return JSON.stringify(s)
    .replace(/\\(u[0-9a-fA-F]{4}|.)/g, (m, e: string) => (e === 'b' ? '\\u0008' : e === 'f' ? '\\u000c' : m))
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function byteOrder(a: string, b: string): number {
  // Go sorts map keys by bytes (UTF-8); for keys in the BMP without surrogates this equals code-unit order,
  // compare via Buffer to be exact for the rest.
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The "entry" encoding: maps become key-sorted arrays of single-key objects, recursively. */
export function entryEncode(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(entryEncode).join(',')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort(byteOrder);
    return `[${keys.map((k) => `{${goString(k)}:${entryEncode(v[k])}}`).join(',')}]`;
  }
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  throw new TypeError(`cannot normalise value of type ${typeof v}`);
}

/** RFC 8785 JSON Canonicalization Scheme (keys sorted by UTF-16 code units, ES6 number/string serialisation). */
export function jcsEncode(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(jcsEncode).join(',')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${jcsEncode(v[k])}`).join(',')}}`;
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError('JCS cannot encode non-finite numbers');
    return JSON.stringify(v);
  }
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  throw new TypeError(`cannot normalise value of type ${typeof v}`);
}

// ---------------------------------------------------------------------------------------------------------------
// exclusion rules

/** Only signing labels survive, reduced to name/version/value/signing; an empty result removes the field. */
function filterLabels(o: Obj, key = 'labels'): void {
  const l = o[key];
  if (!Array.isArray(l)) return;
  const kept = l
    .filter((x): x is Obj => isObj(x) && (x['signing'] === true || x['signing'] === 'true'))
    .map((x) => {
      const r: Obj = {};
      for (const k of ['name', 'version', 'value', 'signing']) if (k in x) r[k] = x[k];
      return r;
    });
  if (kept.length) o[key] = kept;
  else delete o[key];
}

function isNoneAccess(r: Obj): boolean {
  const a = r['access'];
  return isObj(a) && (a['type'] === 'none' || a['type'] === 'None');
}

function resourceRules(r: Obj): Obj {
  if (isNoneAccess(r)) delete r['digest'];
  delete r['access'];
  delete r['srcRefs'];
  delete r['srcRef'];
  filterLabels(r);
  return r;
}

/** Legacy defaulting kept by v1/v2 for signature compatibility: duplicated name+extraIdentity get `version` added. */
function legacyDefaultExtraIdentity(cd: ComponentDescriptor): void {
  const rs = cd.resources;
  const eq = (a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean => {
    const ka = Object.keys(a ?? {});
    const kb = Object.keys(b ?? {});
    return ka.length === kb.length && ka.every((k) => (a ?? {})[k] === (b ?? {})[k]);
  };
  for (let i = 0; i < rs.length; i++) {
    for (let j = 0; j < rs.length; j++) {
      const ri = rs[i]!;
      const rj = rs[j]!;
      if (i === j || ri.name !== rj.name) continue;
      if (!eq(rj.extraIdentity, ri.extraIdentity)) continue;
      ri.extraIdentity = { ...(ri.extraIdentity ?? {}), version: ri.version };
      break;
    }
  }
}

function v1ObjectV2Schema(cd: ComponentDescriptor): Obj {
  const o = toV2Object(cd);
  delete o['signatures'];
  delete o['nestedDigests'];
  const c = o['component'] as Obj;
  delete c['repositoryContexts'];
  delete c['sources'];
  filterLabels(c);
  // schema v2 stores a provider with labels as a JSON string; the rule parses it back into an object
  if (typeof c['provider'] === 'string') {
    try {
      const p = JSON.parse(c['provider']) as unknown;
      if (isObj(p)) {
        filterLabels(p);
        c['provider'] = p;
      }
    } catch {
      // plain provider name
    }
  }
  c['resources'] = (c['resources'] as Obj[]).map((r) => {
    if (r['extraIdentity'] === undefined) r['extraIdentity'] = null;
    return resourceRules(r);
  });
  c['componentReferences'] = (c['componentReferences'] as Obj[]).map((r) => {
    if (r['extraIdentity'] === undefined) r['extraIdentity'] = null;
    filterLabels(r);
    return r;
  });
  return o;
}

function v1ObjectV3Schema(cd: ComponentDescriptor): Obj {
  const o = toV3alpha1Object(cd);
  delete o['signatures'];
  delete o['nestedDigests'];
  delete o['repositoryContexts'];
  filterLabels(o['metadata'] as Obj);
  // upstream quirk: the provider rule targets spec.provider, so metadata.provider labels are NOT filtered
  const spec = o['spec'] as Obj;
  if (Array.isArray(spec['resources'])) spec['resources'] = (spec['resources'] as Obj[]).map(resourceRules);
  if (Array.isArray(spec['sources'])) {
    spec['sources'] = (spec['sources'] as Obj[]).map((s) => {
      delete s['access'];
      filterLabels(s);
      return s;
    });
  }
  if (Array.isArray(spec['references'])) {
    spec['references'] = (spec['references'] as Obj[]).map((r) => {
      filterLabels(r);
      return r;
    });
  }
  return o;
}

function internalObject(cd: ComponentDescriptor): Obj {
  const o = toInternalObject(cd);
  delete o['meta'];
  delete o['signatures'];
  delete o['nestedDigests'];
  const c = o['component'] as Obj;
  delete c['repositoryContexts'];
  filterLabels(c);
  filterLabels(c['provider'] as Obj);
  c['resources'] = (c['resources'] as Obj[]).map(resourceRules);
  c['sources'] = (c['sources'] as Obj[]).map((s) => {
    delete s['access'];
    filterLabels(s);
    return s;
  });
  // upstream quirk: the reference rule is keyed "references" but the field is "componentReferences": untouched
  return o;
}

/** The normalised bytes of a descriptor under the given algorithm. */
export function normaliseDescriptor(input: ComponentDescriptor, algorithm: string): Buffer {
  const cd = cloneDescriptor(input);
  switch (algorithm) {
    case JSON_NORMALISATION_V1:
      legacyDefaultExtraIdentity(cd);
      return Buffer.from(entryEncode(cd.schemaVersion === SCHEMA_V2 ? v1ObjectV2Schema(cd) : v1ObjectV3Schema(cd)), 'utf8');
    case JSON_NORMALISATION_V2:
      legacyDefaultExtraIdentity(cd);
      return Buffer.from(jcsEncode(internalObject(cd)), 'utf8');
    case JSON_NORMALISATION_V3:
    case JSON_NORMALISATION_V4ALPHA1:
      return Buffer.from(jcsEncode(internalObject(cd)), 'utf8');
    default:
      throw new UnsupportedNormalisationError(algorithm);
  }
}

/** OCM hash algorithm name -> node crypto name. Accepts the legacy lower-case spellings. */
export function nodeHashName(hashAlgorithm: string): 'sha256' | 'sha512' {
  switch (hashAlgorithm.toUpperCase().replace(/-/g, '')) {
    case 'SHA256':
      return 'sha256';
    case 'SHA512':
      return 'sha512';
    default:
      throw new UnsupportedDigestError(`unsupported hash algorithm ${hashAlgorithm}`);
  }
}

export function ocmHashName(hashAlgorithm: string): 'SHA-256' | 'SHA-512' {
  return nodeHashName(hashAlgorithm) === 'sha256' ? 'SHA-256' : 'SHA-512';
}

/** hex digest of the normalised descriptor */
export function digestDescriptor(cd: ComponentDescriptor, normalisationAlgorithm: string, hashAlgorithm = 'SHA-256'): string {
  return createHash(nodeHashName(hashAlgorithm)).update(normaliseDescriptor(cd, normalisationAlgorithm)).digest('hex');
}
