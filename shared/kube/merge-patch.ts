/** RFC 7386 JSON merge patch that turns `from` into `to` (null deletes a key). */
import { isDeepStrictEqual } from 'node:util';

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function mergePatch(from: unknown, to: unknown): unknown {
  if (!isRecord(from) || !isRecord(to)) return to === undefined ? null : to;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(from)) if (to[k] === undefined) out[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (v === undefined || isDeepStrictEqual(from[k], v)) continue;
    out[k] = isRecord(from[k]) && isRecord(v) ? mergePatch(from[k], v) : v;
  }
  return out;
}
