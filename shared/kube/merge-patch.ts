/** RFC 7386 JSON merge patch that turns `from` into `to` (null deletes a key). */
import { isDeepStrictEqual } from 'node:util';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function mergePatch(from: unknown, to: unknown): unknown {
  if (!isRecord(from) || !isRecord(to)) return to === undefined ? null : to;
  // null prototype: a key such as "__proto__" stays a plain key
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(from)) if (!Object.hasOwn(to, k) || to[k] === undefined) out[k] = null;
  for (const [k, v] of Object.entries(to)) {
    const old = Object.hasOwn(from, k) ? from[k] : undefined;
    if (v === undefined || isDeepStrictEqual(old, v)) continue;
    out[k] = isRecord(old) && isRecord(v) ? mergePatch(old, v) : v;
  }
  return out;
}
