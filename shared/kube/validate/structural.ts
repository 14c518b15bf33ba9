/**
 * What the apiserver does with a custom resource before storing it, for a structural schema:
 * drop nulls, apply defaults, prune undeclared fields, check types/enums/patterns/limits, then run the
 * CEL rules of every node whose subtree passed. Written here rather than with a JSON-Schema library
 * because these semantics (pruning, defaulting of nested objects, list-map keys, CEL per node with
 * self/oldSelf, apiserver-style field paths) are Kubernetes', not JSON Schema's.
 */
import type { JSONSchemaProps, ValidationRule } from '../schema/builder.js';
import { evaluateRule, isTransitionRule, toCel } from './cel.js';
import { childPath, indexPath, type ValidationIssue } from './issue.js';

export interface WalkOptions {
  /** report fields the schema does not declare (kubectl's default, --validate=strict); they are pruned either way */
  strictFields: boolean;
}

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

function clone<T>(v: T): T {
  return structuredClone(v);
}

const quote = (v: unknown) => JSON.stringify(v);

export class Walker {
  readonly issues: ValidationIssue[] = [];
  constructor(private readonly opts: WalkOptions) {}

  private err(path: string, message: string, source: ValidationIssue['source'] = 'schema'): void {
    this.issues.push({ path, message, severity: 'error', source });
  }

  private schemaErrors(): number {
    return this.issues.reduce((n, i) => (i.source === 'schema' ? n + 1 : n), 0);
  }

  /** Returns the value to store (defaulted and pruned). `old` is the previous value on update. */
  walk(value: unknown, schema: JSONSchemaProps, path: string, old: unknown): unknown {
    const before = this.schemaErrors();
    const out = this.check(value, schema, path, old);
    // like the apiserver, a node whose own data is malformed does not get its CEL rules run
    if (this.schemaErrors() === before) this.rules(out, schema['x-kubernetes-validations'], schema, path, old);
    return out;
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
      this.err(at, r.message, 'cel');
    }
  }

  private check(value: unknown, schema: JSONSchemaProps, path: string, old: unknown): unknown {
    const type = schema.type;
    if (type === undefined) return value; // x-kubernetes-preserve-unknown-fields: any JSON value
    if (!typeMatches(value, type)) {
      this.err(path, `Invalid value: ${quote(typeOf(value))}: must be of type ${type}`);
      return value;
    }
    switch (type) {
      case 'object':
        return this.object(value as Record<string, unknown>, schema, path, old);
      case 'array':
        return this.array(value as unknown[], schema, path, old);
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

  private object(value: Record<string, unknown>, schema: JSONSchemaProps, path: string, old: unknown): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const oldRec = typeOf(old) === 'object' ? (old as Record<string, unknown>) : undefined;
    const props = schema.properties;
    const extra = schema.additionalProperties;
    const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) continue; // nulls are pruned (then defaulted) by the apiserver
      const p = childPath(path, k);
      const s = props?.[k];
      if (s !== undefined) out[k] = this.walk(v, s, p, oldRec?.[k]);
      else if (extra !== undefined) out[k] = this.walk(v, extra, indexPath(path, k), oldRec?.[k]);
      else if (preserve) out[k] = v;
      else if (this.opts.strictFields) this.err(p, 'unknown field (not declared in the schema)');
    }
    if (props !== undefined) {
      for (const [k, s] of Object.entries(props)) {
        if (out[k] === undefined && s.default !== undefined) out[k] = this.walk(clone(s.default), s, childPath(path, k), oldRec?.[k]);
      }
    }
    for (const k of schema.required ?? []) if (out[k] === undefined) this.err(childPath(path, k), 'Required value');
    const n = Object.keys(out).length;
    if (schema.minProperties !== undefined && n < schema.minProperties) {
      this.err(path, schema.minProperties === 1 ? 'must not be empty (at least one entry)' : `must have at least ${schema.minProperties} entries`);
    }
    if (schema.maxProperties !== undefined && n > schema.maxProperties) this.err(path, `Too many: ${n}: must have at most ${schema.maxProperties} entries`);
    return out;
  }

  private array(value: unknown[], schema: JSONSchemaProps, path: string, old: unknown): unknown[] {
    const oldArr = Array.isArray(old) ? old : undefined;
    const items = schema.items;
    const keys = schema['x-kubernetes-list-map-keys'];
    const out = value.map((v, i) => {
      if (items === undefined) return v;
      // transition rules on list items pair items by map key (list-type map), else not at all
      let prev: unknown;
      if (keys !== undefined && oldArr !== undefined) {
        prev = oldArr.find((o) => keys.every((k) => typeOf(o) === 'object' && typeOf(v) === 'object' && (o as Record<string, unknown>)[k] === (v as Record<string, unknown>)[k]));
      }
      return this.walk(v, items, indexPath(path, i), prev);
    });
    if (schema.minItems !== undefined && out.length < schema.minItems) {
      this.err(path, schema.minItems === 1 ? 'Required value: must have at least 1 item' : `must have at least ${schema.minItems} items`);
    }
    if (schema.maxItems !== undefined && out.length > schema.maxItems) this.err(path, `Too many: ${out.length}: must have at most ${schema.maxItems} items`);
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'map' && keys !== undefined) {
      const seen = new Set<string>();
      out.forEach((v, i) => {
        if (typeOf(v) !== 'object') return;
        const id = JSON.stringify(keys.map((k) => (v as Record<string, unknown>)[k]));
        const key = Object.fromEntries(keys.map((k) => [k, (v as Record<string, unknown>)[k]]));
        if (seen.has(id)) this.err(indexPath(path, i), `Duplicate value: ${quote(key)}`);
        seen.add(id);
      });
    } else if (listType === 'set') {
      const seen = new Set<string>();
      out.forEach((v, i) => {
        const id = JSON.stringify(v);
        if (seen.has(id)) this.err(indexPath(path, i), `Duplicate value: ${id}`);
        seen.add(id);
      });
    }
    return out;
  }

  private string(value: string, schema: JSONSchemaProps, path: string): void {
    if (schema.enum !== undefined && !schema.enum.includes(value)) {
      this.err(path, `Unsupported value: ${quote(value)}: supported values: ${schema.enum.map(quote).join(', ')}`);
      return;
    }
    const len = [...value].length;
    if (schema.minLength !== undefined && len < schema.minLength) {
      this.err(path, schema.minLength === 1 ? 'Invalid value: "": must not be empty' : `Invalid value: ${quote(value)}: should be at least ${schema.minLength} chars long`);
    }
    if (schema.maxLength !== undefined && len > schema.maxLength) this.err(path, `Too long: may not be more than ${schema.maxLength} bytes`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
      this.err(path, `Invalid value: ${quote(value)}: should match '${schema.pattern}'`);
    }
    if (schema.format === 'date-time' && !RFC3339.test(value)) this.err(path, `Invalid value: ${quote(value)}: must be a date-time (RFC 3339)`);
  }

  private number(value: number, schema: JSONSchemaProps, path: string): void {
    if (schema.minimum !== undefined && value < schema.minimum) this.err(path, `Invalid value: ${value}: should be greater than or equal to ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) this.err(path, `Invalid value: ${value}: should be less than or equal to ${schema.maximum}`);
  }
}
