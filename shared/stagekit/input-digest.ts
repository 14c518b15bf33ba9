import { digestOf } from '../oci/digest.js';

/** JSON with sorted keys, so equal values give equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as Record<string, unknown>).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortDeep(v);
    }
    return out;
  }
  return value;
}

/** sha256 over the stage name and its inputs (docs/design.md §4 idempotency). */
export function inputDigest(stage: string, inputs: unknown): string {
  return digestOf(canonicalJson({ stage, inputs }));
}
