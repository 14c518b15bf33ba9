/**
 * What the apiserver does with a custom resource before storing it, for a structural schema:
 * drop nulls, apply defaults, prune undeclared fields, check types/enums/patterns/limits, then, unless
 * one of those errors is "blocking", run every CEL rule. Written here rather than with a JSON-Schema
 * library because these semantics (pruning, defaulting of nested objects, list-map keys, CEL per node
 * with self/oldSelf, apiserver-style field paths) are Kubernetes', not JSON Schema's.
 */
import type { JSONSchemaProps, ValidationRule } from '../schema/builder.js';
import { evaluateRule, isTransitionRule, toCel } from './cel.js';
import { childPath, indexPath, type ValidationIssue } from './issue.js';

export interface WalkOptions {
  /** report fields the schema does not declare (kubectl's default, --validate=strict); they are pruned either way */
  strictFields: boolean;
}

/**
 * The apiserver skips all CEL rules of an object when its schema validation found an error of these
 * kinds (they could make a rule misbehave): wrong type, unsupported enum value, missing required
 * field, too long, too many. It says so in an extra message, which SKIPPED_RULES mirrors.
 */
type ErrorKind = 'blocking' | 'invalid';
export const SKIPPED_RULES = 'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, type: NonNullable<JSONSchemaProps['type']>): boolean {
  const t = typeOf(v);
  if (type === 'number') return t === 'number' || t === 'integer';
  return t === type;
}

const quote = (v: unknown) => JSON.stringify(v);
const isRecord = (v: unknown): v is Record<string, unknown> => typeOf(v) === 'object';

export class Walker {
  readonly issues: ValidationIssue[] = [];
  /** a blocking schema error was found: CEL rules must not run */
  blocked = false;
  constructor(private readonly opts: WalkOptions) {}

  private err(path: string, message: string, kind: ErrorKind = 'invalid'): void {
    if (kind === 'blocking') this.blocked = true;
    this.issues.push({ path, message, severity: 'error', source: 'schema' });
  }

  // ------------------------------------------------------------------ phase 1: defaults, pruning, schema

  /** Returns the value to store (nulls dropped, defaulted, pruned). */
  walk(value: unknown, schema: JSONSchemaProps, path: string): unknown {
    const type = schema.type;
    if (type === undefined) return value; // x-kubernetes-preserve-unknown-fields: any JSON value
    if (!typeMatches(value, type)) {
      this.err(path, `Invalid value: ${quote(typeOf(value))}: must be of type ${type}`, 'blocking');
      return value;
    }
    switch (type) {
      case 'object':
        return this.object(value as Record<string, unknown>, schema, path);
      case 'array':
        return this.array(value as unknown[], schema, path);
      case 'string':
        this.string(value as string, schema, path);
        return value;
      case 'integer':
      case 'number':
        this.number(value as number, schema, path);
        return value;
      default:
        return value;
    }
  }

  private object(value: Record<string, unknown>, schema: JSONSchemaProps, path: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const props = schema.properties;
    const extra = schema.additionalProperties;
    const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const p = childPath(path, k); // map entries too: the apiserver writes path.key
      const s = props?.[k];
      if (s === undefined && extra === undefined && !preserve) {
        // strict field validation reports an undeclared field even when its value is null
        if (this.opts.strictFields) this.err(p, 'unknown field (not declared in the schema)');
        continue;
      }
      if (s === undefined && extra === undefined) {
        out[k] = v; // kept as is, nulls included (x-kubernetes-preserve-unknown-fields)
        continue;
      }
      if (v === null) continue; // nulls of typed fields are pruned (then defaulted) by the apiserver
      out[k] = this.walk(v, (s ?? extra)!, p);
    }
    if (props !== undefined) {
      for (const [k, s] of Object.entries(props)) {
        if (out[k] === undefined && s.default !== undefined) out[k] = this.walk(structuredClone(s.default), s, childPath(path, k));
      }
    }
    for (const k of schema.required ?? []) if (out[k] === undefined) this.err(childPath(path, k), 'Required value', 'blocking');
    const n = Object.keys(out).length;
    if (schema.minProperties !== undefined && n < schema.minProperties) {
      this.err(path, schema.minProperties === 1 ? 'must not be empty (at least one entry)' : `must have at least ${schema.minProperties} entries`);
    }
    if (schema.maxProperties !== undefined && n > schema.maxProperties) this.err(path, `Too many: ${n}: must have at most ${schema.maxProperties} entries`, 'blocking');
    return out;
  }

  private array(value: unknown[], schema: JSONSchemaProps, path: string): unknown[] {
    const items = schema.items;
    // holes and undefined serialise as null, which a typed list item is not
    const out = Array.from(value, (v) => (v === undefined ? null : v)).map((v, i) => (items === undefined ? v : this.walk(v, items, indexPath(path, i))));
    if (schema.minItems !== undefined && out.length < schema.minItems) this.err(path, `Invalid value: ${out.length}: must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
    if (schema.maxItems !== undefined && out.length > schema.maxItems) this.err(path, `Too many: ${out.length}: must have at most ${schema.maxItems} items`, 'blocking');
    const listType = schema['x-kubernetes-list-type'];
    const keys = schema['x-kubernetes-list-map-keys'];
    const seen = new Set<string>();
    out.forEach((v, i) => {
      let id: string;
      let shown: unknown;
      if (listType === 'map' && keys !== undefined) {
        if (!isRecord(v)) return;
        shown = Object.fromEntries(keys.map((k) => [k, v[k]]));
        id = JSON.stringify(keys.map((k) => v[k]));
      } else if (listType === 'set') {
        shown = v;
        id = JSON.stringify(v);
      } else return;
      if (seen.has(id)) this.err(indexPath(path, i), `Duplicate value: ${quote(shown)}`);
      seen.add(id);
    });
    return out;
  }

  private string(value: string, schema: JSONSchemaProps, path: string): void {
    if (schema.enum !== undefined && !schema.enum.includes(value)) {
      this.err(path, `Unsupported value: ${quote(value)}: supported values: ${schema.enum.map(quote).join(', ')}`, 'blocking');
      return;
    }
    const len = [...value].length;
    if (schema.minLength !== undefined && len < schema.minLength) {
      this.err(path, schema.minLength === 1 ? 'Invalid value: "": must not be empty' : `Invalid value: ${quote(value)}: should be at least ${schema.minLength} chars long`);
    }
    if (schema.maxLength !== undefined && len > schema.maxLength) this.err(path, `Too long: may not be more than ${schema.maxLength} characters`, 'blocking');
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      this.err(path, `Invalid value: ${quote(value)}: should match '${schema.pattern}'`);
    }
    if (schema.format === 'date-time' && !RFC3339.test(value)) this.err(path, `Invalid value: ${quote(value)}: must be a date-time (RFC 3339)`);
  }

  private number(value: number, schema: JSONSchemaProps, path: string): void {
    if (schema.minimum !== undefined && value < schema.minimum) this.err(path, `Invalid value: ${value}: should be greater than or equal to ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) this.err(path, `Invalid value: ${value}: should be less than or equal to ${schema.maximum}`);
  }

  // ------------------------------------------------------------------------------ phase 2: CEL rules

  /** Runs the CEL rules of every node under `schema` on the stored value; `old` on update. */
  cel(value: unknown, schema: JSONSchemaProps, path: string, old: unknown): void {
    if (value === undefined || value === null) return;
    if (isRecord(value)) {
      const oldRec = isRecord(old) ? old : undefined;
      for (const [k, v] of Object.entries(value)) {
        const s = schema.properties?.[k] ?? schema.additionalProperties;
        if (s !== undefined) this.cel(v, s, childPath(path, k), oldRec?.[k]);
      }
    } else if (Array.isArray(value) && schema.items !== undefined) {
      const keys = schema['x-kubernetes-list-map-keys'];
      const oldArr = Array.isArray(old) ? old : undefined;
      value.forEach((v, i) => {
        // transition rules on list items pair items by map key (list-type map), else not at all
        const prev = keys !== undefined && isRecord(v) ? oldArr?.find((o) => isRecord(o) && keys.every((k) => o[k] === v[k])) : undefined;
        this.cel(v, schema.items!, indexPath(path, i), prev);
      });
    }
    this.rules(value, schema['x-kubernetes-validations'], schema, path, old);
  }

  rules(value: unknown, rules: ValidationRule[] | undefined, schema: JSONSchemaProps, path: string, old: unknown): void {
    if (rules === undefined) return;
    const self = toCel(value, schema);
    const oldSelf = old === undefined ? undefined : toCel(old, schema);
    for (const rule of rules) {
      if (isTransitionRule(rule) && oldSelf === undefined) continue;
      const r = evaluateRule(rule, self, oldSelf);
      if (r.ok) continue;
      const at = rule.fieldPath !== undefined ? path + rule.fieldPath : path;
      this.issues.push({ path: at, message: r.message, severity: 'error', source: 'cel' });
    }
  }
}
