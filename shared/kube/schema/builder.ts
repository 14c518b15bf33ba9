/**
 * A tiny typed builder for Kubernetes structural schemas (the OpenAPI v3 subset a CRD accepts).
 *
 * Every builder returns plain schema data (serialised as-is into the CRD YAML) that also carries the
 * TypeScript type of the values it accepts, so `Infer<typeof schema>` gives the kind's TS type and the
 * two cannot drift. The phantom type lives only at the type level: no extra property exists at runtime.
 */

export type ValidationReason =
  | 'FieldValueInvalid'
  | 'FieldValueForbidden'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate';

/** One `x-kubernetes-validations` entry: a CEL rule evaluated with `self` (and `oldSelf` on update). */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: ValidationReason;
  fieldPath?: string;
}

export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  items?: JSONSchemaProps;
  enum?: string[];
  default?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: ValidationRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

declare const phantom: unique symbol;
/** A schema accepting values of type T. */
export type Schema<T> = JSONSchemaProps & { readonly [phantom]?: T };
export type Infer<S> = S extends Schema<infer T> ? T : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type Props = Record<string, Schema<unknown>>;
type ObjectOf<P extends Props, R extends keyof P> = Simplify<
  { -readonly [K in R]: Infer<P[K]> } & { -readonly [K in Exclude<keyof P, R>]?: Infer<P[K]> }
>;

interface Common {
  description?: string;
  rules?: ValidationRule[];
}

function common(o: Common | undefined): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  if (o?.description !== undefined) out.description = o.description;
  if (o?.rules !== undefined && o.rules.length > 0) out['x-kubernetes-validations'] = o.rules;
  return out;
}

export interface StringOpts extends Common {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: string;
  default?: string;
}

export function str(o: StringOpts = {}): Schema<string> {
  const { rules: _r, description: _d, ...rest } = o;
  return { type: 'string', ...common(o), ...rest };
}

export function enumOf<const E extends readonly string[]>(values: E, o: Common & { default?: E[number] } = {}): Schema<E[number]> {
  const s: JSONSchemaProps = { type: 'string', ...common(o), enum: [...values] };
  if (o.default !== undefined) s.default = o.default;
  return s;
}

export interface IntOpts extends Common {
  minimum?: number;
  maximum?: number;
  format?: 'int32' | 'int64';
  default?: number;
}

export function int(o: IntOpts = {}): Schema<number> {
  const { rules: _r, description: _d, ...rest } = o;
  return { type: 'integer', ...common(o), ...rest };
}

export function bool(o: Common & { default?: boolean } = {}): Schema<boolean> {
  const s: JSONSchemaProps = { type: 'boolean', ...common(o) };
  if (o.default !== undefined) s.default = o.default;
  return s;
}

export interface ObjectOpts<R> extends Common {
  required?: R;
  default?: Record<string, unknown>;
  minProperties?: number;
}

export function obj<P extends Props, const R extends readonly (keyof P & string)[] = []>(
  properties: P,
  o: ObjectOpts<R> = {},
): Schema<ObjectOf<P, R[number]>> {
  const s: JSONSchemaProps = { type: 'object', ...common(o), properties };
  if (o.required !== undefined && o.required.length > 0) s.required = [...o.required];
  if (o.default !== undefined) s.default = o.default;
  if (o.minProperties !== undefined) s.minProperties = o.minProperties;
  return s;
}

/**
 * An object with declared properties that also keeps undeclared ones: they are stored, but CEL cannot
 * see them, so checks on them belong to the semantic (webhook) layer.
 */
export function openObj<P extends Props, const R extends readonly (keyof P & string)[] = []>(
  properties: P,
  o: ObjectOpts<R> = {},
): Schema<ObjectOf<P, R[number]> & Record<string, unknown>> {
  return { ...obj(properties, o), 'x-kubernetes-preserve-unknown-fields': true };
}

export interface ArrayOpts extends Common {
  minItems?: number;
  maxItems: number;
  listType?: 'atomic' | 'set' | 'map';
  /** for listType 'map': the item fields that identify an entry */
  listMapKeys?: string[];
}

export function arr<T>(items: Schema<T>, o: ArrayOpts): Schema<T[]> {
  const s: JSONSchemaProps = { type: 'array', ...common(o), items, maxItems: o.maxItems };
  if (o.minItems !== undefined) s.minItems = o.minItems;
  if (o.listType !== undefined) s['x-kubernetes-list-type'] = o.listType;
  if (o.listMapKeys !== undefined) s['x-kubernetes-list-map-keys'] = o.listMapKeys;
  return s;
}

export interface MapOpts extends Common {
  minProperties?: number;
  maxProperties: number;
}

/** A string-keyed map (`additionalProperties`). */
export function mapOf<T>(values: Schema<T>, o: MapOpts): Schema<Record<string, T>> {
  const s: JSONSchemaProps = { type: 'object', ...common(o), additionalProperties: values, maxProperties: o.maxProperties };
  if (o.minProperties !== undefined) s.minProperties = o.minProperties;
  return s;
}

/** Any JSON value, stored as given (no type; the apiserver neither prunes nor type-checks it). */
export function anyValue(o: Common = {}): Schema<unknown> {
  return { ...common(o), 'x-kubernetes-preserve-unknown-fields': true };
}

/** A free-form JSON object. */
export function anyObject(o: Common = {}): Schema<Record<string, unknown>> {
  return { type: 'object', ...common(o), 'x-kubernetes-preserve-unknown-fields': true };
}
