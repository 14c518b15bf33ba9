/**
 * Evaluates the CRDs' CEL rules (x-kubernetes-validations) locally with the very same rule strings the
 * apiserver runs, so the local runner rejects what the cluster would reject.
 */
import { parse, type ParseResult } from '@marcbachmann/cel-js';
import type { JSONSchemaProps, ValidationRule } from '../schema/builder.js';

const compiled = new Map<string, ParseResult>();

function compile(expr: string): ParseResult {
  let p = compiled.get(expr);
  if (p === undefined) {
    p = parse(expr);
    compiled.set(expr, p);
  }
  return p;
}

export function isTransitionRule(rule: ValidationRule): boolean {
  return /\boldSelf\b/.test(rule.rule);
}

/**
 * Converts a JSON value to what the apiserver hands CEL for this schema: integers become int (BigInt),
 * and fields the schema does not declare are invisible.
 */
export function toCel(value: unknown, schema: JSONSchemaProps | undefined): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'number') {
    if (schema?.type === 'number') return value;
    return Number.isInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items));
  if (typeof value === 'object') {
    const rec = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    if (schema?.properties !== undefined) {
      for (const [k, s] of Object.entries(schema.properties)) if (rec[k] !== undefined) out[k] = toCel(rec[k], s);
      return out;
    }
    for (const [k, v] of Object.entries(rec)) out[k] = toCel(v, schema?.additionalProperties);
    return out;
  }
  return value;
}

export type RuleOutcome = { ok: true } | { ok: false; message: string };

/** Evaluates one rule; `self`/`oldSelf` must already be CEL values (see toCel). */
export function evaluateRule(rule: ValidationRule, self: unknown, oldSelf: unknown): RuleOutcome {
  const vars: Record<string, unknown> = { self };
  if (oldSelf !== undefined) vars['oldSelf'] = oldSelf;
  let result: unknown;
  try {
    result = compile(rule.rule)(vars);
  } catch (e) {
    return { ok: false, message: `rule could not be evaluated (${(e as Error).message.split('\n')[0]}): ${rule.rule}` };
  }
  if (result === true) return { ok: true };
  if (result !== false) return { ok: false, message: `rule did not return a bool: ${rule.rule}` };
  if (rule.messageExpression !== undefined) {
    try {
      const m = compile(rule.messageExpression)(vars);
      if (typeof m === 'string' && m.trim() !== '') return { ok: false, message: m };
    } catch {
      // the apiserver falls back to message, then to the rule text
    }
  }
  return { ok: false, message: rule.message ?? `failed rule: ${rule.rule}` };
}
