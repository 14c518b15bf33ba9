/**
 * `spec.interval` of OCMRepository and Component: resync ticks check such an object again only once its interval
 * has passed since `status.lastCheckedAt`, and a new `reconcile.fluxcd.io/requestedAt` annotation (what
 * `flux reconcile` sets) asks for a check now, as with Flux's own objects.
 */
import { DEFAULT_INTERVAL, DURATION } from '../kube/schema/common.js';
import { ObjectFailure, Reason, type CheckedStatus, type KubeObject } from '../ports/index.js';
import { isReadyCurrent } from '../kube/conditions.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** the CRDs' pattern for spec.interval: what it accepts is exactly what parseDuration reads */
const WHOLE = new RegExp(DURATION);
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** The annotation `flux reconcile` sets; a value not yet in status.lastHandledReconcileAt forces a check. */
export const REQUESTED_AT = 'reconcile.fluxcd.io/requestedAt';

/**
 * PingSource ticks are not exactly `schedule` apart; without slack an object checked right before a tick would wait
 * for the tick after next.
 */
const TICK_SLACK_MS = 30_000;

/**
 * Go durations as Flux and our CRDs spell `interval` (`10m`, `1h30m`, `90s`, `1.5h`), in milliseconds. Undefined for
 * anything the CRD pattern would reject, so a caller can name the field in its message.
 */
export function parseDuration(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(PART)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}

/** the CRDs' default for spec.interval in milliseconds (objects written before the default existed have none) */
export const DEFAULT_INTERVAL_MS = parseDuration(DEFAULT_INTERVAL)!;

/** The object's spec.interval in milliseconds (the default when unset); SpecInvalid naming the field when unreadable. */
export function intervalOf(obj: KubeObject<{ interval?: string } | undefined>): number {
  const text = obj.spec?.interval;
  if (text === undefined) return DEFAULT_INTERVAL_MS;
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new ObjectFailure(Reason.SpecInvalid, `${obj.kind} ${obj.metadata.name}: spec.interval "${text}" is not a duration such as 10m or 1h30m`);
  }
  return ms;
}

/** The requestedAt value to act on now, or undefined when there is none or it was handled already. */
export function newReconcileRequest(obj: KubeObject<unknown, CheckedStatus>): string | undefined {
  const requested = obj.metadata.annotations?.[REQUESTED_AT];
  return requested !== undefined && requested !== obj.status?.lastHandledReconcileAt ? requested : undefined;
}

/** True when a resync tick may leave `obj` alone: Ready for its generation, checked less than the interval ago. */
export function checkNotDue(obj: KubeObject<unknown, CheckedStatus>, intervalMs: number, nowMs: number): boolean {
  const last = Date.parse(obj.status?.lastCheckedAt ?? '');
  return isReadyCurrent(obj) && newReconcileRequest(obj) === undefined && nowMs - last < intervalMs - TICK_SLACK_MS;
}

/** The status fields that record a check made at `nowMs` (and the request it answered). */
export function checkedFields(obj: KubeObject, nowMs: number): CheckedStatus {
  const requested = obj.metadata.annotations?.[REQUESTED_AT];
  return { lastCheckedAt: new Date(nowMs).toISOString(), ...(requested !== undefined ? { lastHandledReconcileAt: requested } : {}) };
}
