/** Schema pieces shared by several kinds. */
import { arr, enumOf, int, mapOf, obj, str, type Infer, type ValidationRule } from './builder.js';

export const GROUP = 'serverless.ocm.software';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

/** DNS-1123 subdomain: what Kubernetes accepts as an object name. */
export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** Go duration as Flux accepts it (e.g. 10m, 1h30m, 500ms). */
export const DURATION = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
export const DEFAULT_INTERVAL = '10m';

export const objectName = (description: string) =>
  str({ description, minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN });

/** A reference to an object in the same namespace. */
export const localRef = (description: string) =>
  obj({ name: objectName('name of the object, in the same namespace') }, { description, required: ['name'] });
export type LocalObjectReference = Infer<ReturnType<typeof localRef>>;

export const interval = (what: string) =>
  str({
    description: `how often ${what} (Go duration, e.g. 10m)`,
    pattern: DURATION,
    maxLength: 32,
    default: DEFAULT_INTERVAL,
  });

/** Status fields of kinds with a spec.interval (shared/stagekit/interval.ts). */
export const checkedStatus = (what: string) => ({
  lastCheckedAt: str({
    format: 'date-time',
    description: `when ${what}; resync ticks skip the object until spec.interval has passed`,
  }),
  lastHandledReconcileAt: str({
    description: 'the reconcile.fluxcd.io/requestedAt annotation value last acted on (a new value forces a check)',
    maxLength: 256,
  }),
});

/** OCM identity: a map of identity attributes (name, version, extra identity). */
export const identity = (description: string, rules: ValidationRule[] = []) =>
  mapOf(str({ minLength: 1, maxLength: 1024 }), { description, minProperties: 1, maxProperties: 32, rules });
export type Identity = Record<string, string>;

/** Identity of a component resource or reference: OCM requires `name`. */
export const namedIdentity = (description: string) =>
  identity(description, [{ rule: "'name' in self", message: 'an identity must contain the attribute "name"' }]);

export const condition = obj(
  {
    type: str({ maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' }),
    status: enumOf(['True', 'False', 'Unknown'] as const),
    observedGeneration: int({ minimum: 0, format: 'int64' }),
    lastTransitionTime: str({ format: 'date-time' }),
    reason: str({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
    message: str({ maxLength: 32768 }),
  },
  { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);
export type Condition = Infer<typeof condition>;

export const conditions = arr(condition, {
  description: 'the current state; only the condition type Ready is used',
  maxItems: 8,
  listType: 'map',
  listMapKeys: ['type'],
});

export const observedGeneration = int({
  description: 'the metadata.generation that the status describes',
  minimum: 0,
  format: 'int64',
});

/** sha256 (or sha512) OCI digest */
export const DIGEST = '^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$';
export const digest = (description: string) => str({ description, maxLength: 135, pattern: DIGEST });

/** OCI repository name (distribution spec path components). */
export const OCI_REPOSITORY = '^[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*$';
/** OCI tag */
export const OCI_TAG = '^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$';
