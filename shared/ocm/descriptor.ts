/**
 * Component descriptor parsing (YAML or JSON, schema v2 or ocm.software/v3alpha1), schema validation and
 * serialisation back into either schema. Untrusted input: size-limited, YAML alias expansion limited.
 */
import { parseDocument, stringify } from 'yaml';
import { Ajv2020, type ValidateFunction, type ErrorObject } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { DescriptorParseError, DescriptorTooLargeError, DescriptorValidationError } from './errors.js';
import {
  SCHEMA_V2,
  SCHEMA_V3ALPHA1,
  type ComponentDescriptor,
  type ComponentReference,
  type DigestSpec,
  type Identity,
  type Json,
  type Label,
  type Provider,
  type Resource,
  type SchemaVersion,
  type Signature,
  type Source,
  type SourceRef,
  type TypedSpec,
} from './model.js';
import { componentDescriptorV2Schema, componentDescriptorV3alpha1Schema } from './schemas.generated.js';

export const DEFAULT_MAX_DESCRIPTOR_BYTES = 4 * 1024 * 1024;
/** Aliases are legal YAML but nobody writes hundreds of them by hand; a billion-laughs document needs thousands. */
export const DEFAULT_MAX_ALIAS_COUNT = 100;

export interface ParseOptions {
  maxBytes?: number;
  maxAliasCount?: number;
  /** skip JSON-schema validation (only for data we produced ourselves) */
  skipValidation?: boolean;
}

type Obj = Record<string, unknown>;

// ajv-formats ships CJS with `module.exports = formatsPlugin` plus `.default`; nodenext sees the namespace.
const addFormats = (addFormatsModule as unknown as { default: (ajv: Ajv2020) => Ajv2020 }).default ?? addFormatsModule;

let validators: { v2: ValidateFunction; v3: ValidateFunction } | undefined;
function getValidators(): { v2: ValidateFunction; v3: ValidateFunction } {
  if (!validators) {
    // strict:false because the upstream schemas carry keywords/patterns ajv's strict mode rejects; they are data we do not edit.
    const ajv = new Ajv2020({ strict: false, allErrors: false });
    addFormats(ajv);
    validators = { v2: ajv.compile(componentDescriptorV2Schema), v3: ajv.compile(componentDescriptorV3alpha1Schema) };
  }
  return validators;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse text into plain JSON data. JSON first (cheap and exact), YAML otherwise. */
export function parseYamlOrJson(input: string | Uint8Array, opts: ParseOptions = {}): unknown {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_DESCRIPTOR_BYTES;
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
  if (size > maxBytes) throw new DescriptorTooLargeError(size, maxBytes);
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // fall through: YAML flow mappings also start with '{'
    }
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new DescriptorParseError(`invalid YAML: ${e.message}`, '', { cause: e });
  }
  try {
    return doc.toJS({ maxAliasCount: opts.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT }) as unknown;
  } catch (err) {
    throw new DescriptorParseError(`invalid YAML: ${(err as Error).message}`, '', { cause: err });
  }
}

function ajvProblems(errors: ErrorObject[] | null | undefined): { path: string; message: string }[] {
  return (errors ?? []).map((e) => {
    let path = e.instancePath;
    if (e.keyword === 'required' && typeof e.params['missingProperty'] === 'string') {
      path = `${path}/${e.params['missingProperty']}`;
    } else if (e.keyword === 'additionalProperties' && typeof e.params['additionalProperty'] === 'string') {
      path = `${path}/${e.params['additionalProperty']}`;
    }
    return { path, message: e.message ?? e.keyword };
  });
}

/** Which schema a raw document claims. */
export function detectSchema(raw: unknown): SchemaVersion {
  if (!isObj(raw)) throw new DescriptorParseError('component descriptor must be a mapping/object', '');
  if ('apiVersion' in raw) {
    if (raw['apiVersion'] !== SCHEMA_V3ALPHA1) {
      throw new DescriptorValidationError(
        [{ path: '/apiVersion', message: `unsupported apiVersion ${JSON.stringify(raw['apiVersion'])} (want ${SCHEMA_V3ALPHA1})` }],
        'unknown',
      );
    }
    return SCHEMA_V3ALPHA1;
  }
  const meta = raw['meta'];
  const sv = isObj(meta) ? meta['schemaVersion'] : undefined;
  if (sv === SCHEMA_V2) return SCHEMA_V2;
  throw new DescriptorValidationError(
    [{ path: '/meta/schemaVersion', message: sv === undefined ? 'missing (want "v2" or apiVersion ocm.software/v3alpha1)' : `unsupported schema version ${JSON.stringify(sv)}` }],
    'unknown',
  );
}

/** Parse + validate a component descriptor from YAML/JSON text or an already-decoded object. */
export function parseComponentDescriptor(input: string | Uint8Array | Obj, opts: ParseOptions = {}): ComponentDescriptor {
  const raw = typeof input === 'string' || input instanceof Uint8Array ? parseYamlOrJson(input, opts) : input;
  const schema = detectSchema(raw);
  if (!opts.skipValidation) {
    const { v2, v3 } = getValidators();
    const validate = schema === SCHEMA_V2 ? v2 : v3;
    if (!validate(raw)) throw new DescriptorValidationError(ajvProblems(validate.errors), schema);
  }
  return schema === SCHEMA_V2 ? fromV2(raw as Obj) : fromV3(raw as Obj);
}

// ---------------------------------------------------------------------------------------------------------------
// raw -> model. The schema already checked shapes; these helpers still guard types so that `skipValidation`
// cannot produce a model that lies about its types.

function str(o: Obj, key: string, path: string, required = true): string {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new DescriptorValidationError([{ path: `${path}/${key}`, message: 'required' }], 'model');
    return '';
  }
  if (typeof v !== 'string') throw new DescriptorValidationError([{ path: `${path}/${key}`, message: 'must be string' }], 'model');
  return v;
}

function list(o: Obj, key: string, path: string): Obj[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DescriptorValidationError([{ path: `${path}/${key}`, message: 'must be array' }], 'model');
  return v.map((e, i) => {
    if (!isObj(e)) throw new DescriptorValidationError([{ path: `${path}/${key}/${i}`, message: 'must be object' }], 'model');
    return e;
  });
}

function identity(v: unknown, path: string): Identity | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new DescriptorValidationError([{ path, message: 'must be object' }], 'model');
  const out: Identity = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new DescriptorValidationError([{ path: `${path}/${k}`, message: 'must be string' }], 'model');
    out[k] = val;
  }
  return Object.keys(out).length ? out : undefined;
}

function labels(v: unknown, path: string): Label[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new DescriptorValidationError([{ path, message: 'must be array' }], 'model');
  const out = v.map((l, i): Label => {
    if (!isObj(l)) throw new DescriptorValidationError([{ path: `${path}/${i}`, message: 'must be object' }], 'model');
    const label: Label = { name: str(l, 'name', `${path}/${i}`), value: (l['value'] ?? null) as Json };
    if (typeof l['version'] === 'string' && l['version']) label.version = l['version'];
    // legacy descriptors may carry "true" as a string; the normalisation rules accept both
    if (l['signing'] === true || l['signing'] === 'true') label.signing = true;
    if (isObj(l['merge'])) label.merge = l['merge'] as Label['merge'];
    return label;
  });
  return out.length ? out : undefined;
}

function digest(v: unknown, path: string): DigestSpec | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new DescriptorValidationError([{ path, message: 'must be object' }], 'model');
  return {
    hashAlgorithm: str(v, 'hashAlgorithm', path, false),
    normalisationAlgorithm: str(v, 'normalisationAlgorithm', path, false),
    value: str(v, 'value', path, false),
  };
}

function typed(v: unknown, path: string): TypedSpec | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v) || typeof v['type'] !== 'string') throw new DescriptorValidationError([{ path: `${path}/type`, message: 'required string' }], 'model');
  return structuredClone(v) as TypedSpec;
}

function srcRefs(v: unknown): SourceRef[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return undefined;
  return v.filter(isObj).map((r) => {
    const out: SourceRef = {};
    const sel = identity(r['identitySelector'], 'srcRefs/identitySelector');
    if (sel) out.identitySelector = sel;
    const l = labels(r['labels'], 'srcRefs/labels');
    if (l) out.labels = l;
    return out;
  });
}

function elementMeta(o: Obj, path: string): { name: string; version: string; extraIdentity?: Identity; labels?: Label[] } {
  const m: { name: string; version: string; extraIdentity?: Identity; labels?: Label[] } = {
    name: str(o, 'name', path),
    version: str(o, 'version', path, false),
  };
  const ei = identity(o['extraIdentity'], `${path}/extraIdentity`);
  if (ei) m.extraIdentity = ei;
  const l = labels(o['labels'], `${path}/labels`);
  if (l) m.labels = l;
  return m;
}

function resource(o: Obj, path: string): Resource {
  const r: Resource = { ...elementMeta(o, path), type: str(o, 'type', path) };
  if (typeof o['relation'] === 'string' && o['relation']) r.relation = o['relation'];
  const refs = srcRefs(o['srcRefs'] ?? o['srcRef']);
  if (refs) r.srcRefs = refs;
  const a = typed(o['access'], `${path}/access`);
  if (a) r.access = a;
  const d = digest(o['digest'], `${path}/digest`);
  if (d) r.digest = d;
  return r;
}

function source(o: Obj, path: string): Source {
  const s: Source = { ...elementMeta(o, path), type: str(o, 'type', path) };
  const a = typed(o['access'], `${path}/access`);
  if (a) s.access = a;
  return s;
}

function reference(o: Obj, path: string): ComponentReference {
  const r: ComponentReference = { ...elementMeta(o, path), componentName: str(o, 'componentName', path) };
  const d = digest(o['digest'], `${path}/digest`);
  if (d) r.digest = d;
  return r;
}

function signatures(o: Obj): Signature[] {
  return list(o, 'signatures', '').map((s, i) => {
    const p = `/signatures/${i}`;
    const sig = isObj(s['signature']) ? s['signature'] : {};
    const out: Signature = {
      name: str(s, 'name', p),
      digest: digest(s['digest'], `${p}/digest`) ?? { hashAlgorithm: '', normalisationAlgorithm: '', value: '' },
      signature: {
        algorithm: str(sig, 'algorithm', `${p}/signature`),
        value: str(sig, 'value', `${p}/signature`),
        mediaType: str(sig, 'mediaType', `${p}/signature`, false),
      },
    };
    if (typeof sig['issuer'] === 'string' && sig['issuer']) out.signature.issuer = sig['issuer'];
    if (isObj(s['timestamp'])) out.timestamp = s['timestamp'] as Signature['timestamp'];
    return out;
  });
}

function nested(o: Obj): Json[] | undefined {
  const v = o['nestedDigests'];
  return Array.isArray(v) && v.length ? (structuredClone(v) as Json[]) : undefined;
}

function repoContexts(v: Obj[]): TypedSpec[] {
  return v.map((c) => structuredClone(c) as TypedSpec);
}

function fromV2(raw: Obj): ComponentDescriptor {
  const c = raw['component'];
  if (!isObj(c)) throw new DescriptorValidationError([{ path: '/component', message: 'required object' }], SCHEMA_V2);
  const p = '/component';
  const providerRaw = c['provider'];
  let provider: Provider;
  if (typeof providerRaw === 'string') {
    provider = { name: providerRaw };
    // schema v2 encodes a provider with labels as a JSON string
    if (providerRaw.trimStart().startsWith('{')) {
      try {
        const parsed = JSON.parse(providerRaw) as unknown;
        if (isObj(parsed) && typeof parsed['name'] === 'string') {
          provider = { name: parsed['name'] };
          const l = labels(parsed['labels'], `${p}/provider/labels`);
          if (l) provider.labels = l;
        }
      } catch {
        // not JSON: a plain provider name
      }
    }
  } else if (isObj(providerRaw)) {
    provider = { name: str(providerRaw, 'name', `${p}/provider`) };
    const l = labels(providerRaw['labels'], `${p}/provider/labels`);
    if (l) provider.labels = l;
  } else {
    throw new DescriptorValidationError([{ path: `${p}/provider`, message: 'required' }], SCHEMA_V2);
  }
  const cd: ComponentDescriptor = {
    schemaVersion: SCHEMA_V2,
    name: str(c, 'name', p),
    version: str(c, 'version', p),
    provider,
    repositoryContexts: repoContexts(list(c, 'repositoryContexts', p)),
    sources: list(c, 'sources', p).map((s, i) => source(s, `${p}/sources/${i}`)),
    references: list(c, 'componentReferences', p).map((r, i) => reference(r, `${p}/componentReferences/${i}`)),
    resources: list(c, 'resources', p).map((r, i) => resource(r, `${p}/resources/${i}`)),
    signatures: signatures(raw),
  };
  const l = labels(c['labels'], `${p}/labels`);
  if (l) cd.labels = l;
  if (typeof c['creationTime'] === 'string') cd.creationTime = c['creationTime'];
  const n = nested(raw);
  if (n) cd.nestedDigests = n;
  return cd;
}

function fromV3(raw: Obj): ComponentDescriptor {
  const m = raw['metadata'];
  if (!isObj(m)) throw new DescriptorValidationError([{ path: '/metadata', message: 'required object' }], SCHEMA_V3ALPHA1);
  const spec = isObj(raw['spec']) ? raw['spec'] : {};
  const pr = isObj(m['provider']) ? m['provider'] : undefined;
  const provider: Provider = { name: pr ? str(pr, 'name', '/metadata/provider') : '' };
  const pl = pr ? labels(pr['labels'], '/metadata/provider/labels') : undefined;
  if (pl) provider.labels = pl;
  const cd: ComponentDescriptor = {
    schemaVersion: SCHEMA_V3ALPHA1,
    name: str(m, 'name', '/metadata'),
    version: str(m, 'version', '/metadata'),
    provider,
    repositoryContexts: repoContexts(list(raw, 'repositoryContexts', '')),
    sources: list(spec, 'sources', '/spec').map((s, i) => source(s, `/spec/sources/${i}`)),
    references: list(spec, 'references', '/spec').map((r, i) => reference(r, `/spec/references/${i}`)),
    resources: list(spec, 'resources', '/spec').map((r, i) => resource(r, `/spec/resources/${i}`)),
    signatures: signatures(raw),
  };
  const l = labels(m['labels'], '/metadata/labels');
  if (l) cd.labels = l;
  if (typeof m['creationTime'] === 'string') cd.creationTime = m['creationTime'];
  const n = nested(raw);
  if (n) cd.nestedDigests = n;
  return cd;
}

// ---------------------------------------------------------------------------------------------------------------
// model -> serialisation objects. Field presence follows the upstream Go structs (omitempty), so the same
// objects feed both the writers and the normalisations.

export function labelsOut(l: Label[] | undefined): Obj[] | undefined {
  if (!l || l.length === 0) return undefined;
  return l.map((x) => {
    const o: Obj = { name: x.name, value: x.value };
    if (x.version) o['version'] = x.version;
    if (x.signing) o['signing'] = true;
    if (x.merge) o['merge'] = x.merge;
    return o;
  });
}

function put(o: Obj, key: string, v: unknown): void {
  if (v !== undefined) o[key] = v;
}

function metaOut(e: { name: string; version: string; extraIdentity?: Identity; labels?: Label[] }): Obj {
  const o: Obj = { name: e.name, version: e.version };
  if (e.extraIdentity && Object.keys(e.extraIdentity).length) o['extraIdentity'] = { ...e.extraIdentity };
  put(o, 'labels', labelsOut(e.labels));
  return o;
}

function digestOut(d: DigestSpec | undefined): Obj | undefined {
  return d ? { hashAlgorithm: d.hashAlgorithm, normalisationAlgorithm: d.normalisationAlgorithm, value: d.value } : undefined;
}

function resourceOut(r: Resource, withAccess: boolean): Obj {
  const o = metaOut(r);
  o['type'] = r.type;
  if (r.relation) o['relation'] = r.relation;
  if (r.srcRefs && r.srcRefs.length) {
    o['srcRefs'] = r.srcRefs.map((s) => {
      const x: Obj = {};
      if (s.identitySelector) x['identitySelector'] = { ...s.identitySelector };
      put(x, 'labels', labelsOut(s.labels));
      return x;
    });
  }
  if (withAccess) o['access'] = r.access ? structuredClone(r.access) : null;
  put(o, 'digest', digestOut(r.digest));
  return o;
}

function sourceOut(s: Source, withAccess: boolean): Obj {
  const o = metaOut(s);
  o['type'] = s.type;
  if (withAccess) o['access'] = s.access ? structuredClone(s.access) : null;
  return o;
}

function referenceOut(r: ComponentReference): Obj {
  const o = metaOut(r);
  o['componentName'] = r.componentName;
  put(o, 'digest', digestOut(r.digest));
  return o;
}

function signaturesOut(s: Signature[]): Obj[] | undefined {
  if (!s.length) return undefined;
  return s.map((x) => {
    const sig: Obj = { algorithm: x.signature.algorithm, value: x.signature.value, mediaType: x.signature.mediaType };
    if (x.signature.issuer) sig['issuer'] = x.signature.issuer;
    const o: Obj = { name: x.name, digest: digestOut(x.digest), signature: sig };
    if (x.timestamp) o['timestamp'] = x.timestamp;
    return o;
  });
}

function providerOutV2(p: Provider): string {
  const l = labelsOut(p.labels);
  // Go marshals Provider{name, labels} in field order; schema v2 stores it as that JSON string
  return l ? JSON.stringify({ name: p.name, labels: l }) : p.name;
}

/** The schema-v2 serialisation object (as the upstream Go library marshals it). */
export function toV2Object(cd: ComponentDescriptor): Obj {
  const component: Obj = { name: cd.name, version: cd.version };
  put(component, 'labels', labelsOut(cd.labels));
  put(component, 'creationTime', cd.creationTime);
  component['repositoryContexts'] = cd.repositoryContexts.map((c) => structuredClone(c));
  component['provider'] = providerOutV2(cd.provider);
  component['sources'] = cd.sources.map((s) => sourceOut(s, true));
  component['componentReferences'] = cd.references.map(referenceOut);
  component['resources'] = cd.resources.map((r) => resourceOut(r, true));
  const out: Obj = { meta: { schemaVersion: SCHEMA_V2 }, component };
  put(out, 'signatures', signaturesOut(cd.signatures));
  put(out, 'nestedDigests', cd.nestedDigests);
  return out;
}

/** The ocm.software/v3alpha1 serialisation object. */
export function toV3alpha1Object(cd: ComponentDescriptor): Obj {
  const metadata: Obj = { name: cd.name, version: cd.version };
  put(metadata, 'labels', labelsOut(cd.labels));
  const provider: Obj = { name: cd.provider.name };
  put(provider, 'labels', labelsOut(cd.provider.labels));
  metadata['provider'] = provider;
  put(metadata, 'creationTime', cd.creationTime);
  const spec: Obj = {};
  if (cd.sources.length) spec['sources'] = cd.sources.map((s) => sourceOut(s, true));
  if (cd.references.length) spec['references'] = cd.references.map(referenceOut);
  if (cd.resources.length) spec['resources'] = cd.resources.map((r) => resourceOut(r, true));
  const out: Obj = { apiVersion: SCHEMA_V3ALPHA1, kind: 'ComponentVersion', metadata };
  if (cd.repositoryContexts.length) out['repositoryContexts'] = cd.repositoryContexts.map((c) => structuredClone(c));
  out['spec'] = spec;
  put(out, 'signatures', signaturesOut(cd.signatures));
  put(out, 'nestedDigests', cd.nestedDigests);
  return out;
}

/** The schema-independent internal model as JSON (input of jsonNormalisation/v2 and /v3). */
export function toInternalObject(cd: ComponentDescriptor): Obj {
  const component: Obj = { name: cd.name, version: cd.version };
  put(component, 'labels', labelsOut(cd.labels));
  const provider: Obj = { name: cd.provider.name };
  put(provider, 'labels', labelsOut(cd.provider.labels));
  component['provider'] = provider;
  put(component, 'creationTime', cd.creationTime);
  component['repositoryContexts'] = cd.repositoryContexts.map((c) => structuredClone(c));
  component['sources'] = cd.sources.map((s) => sourceOut(s, true));
  component['componentReferences'] = cd.references.map(referenceOut);
  component['resources'] = cd.resources.map((r) => resourceOut(r, true));
  const out: Obj = { meta: { configuredSchemaVersion: cd.schemaVersion }, component };
  put(out, 'signatures', signaturesOut(cd.signatures));
  put(out, 'nestedDigests', cd.nestedDigests);
  return out;
}

export type DescriptorFormat = 'yaml' | 'json';

/** Serialise in the descriptor's own schema (or `schema`), YAML with sorted keys like the Go library, or JSON. */
export function serializeComponentDescriptor(
  cd: ComponentDescriptor,
  format: DescriptorFormat = 'yaml',
  schema: SchemaVersion = cd.schemaVersion,
): string {
  const obj = schema === SCHEMA_V2 ? toV2Object(cd) : toV3alpha1Object(cd);
  if (format === 'json') return JSON.stringify(obj);
  return stringify(obj, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false });
}

export function cloneDescriptor(cd: ComponentDescriptor): ComponentDescriptor {
  return structuredClone(cd);
}
