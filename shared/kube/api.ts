/**
 * KubeApi: what the functions ask of a real API server, typed by our kinds. KubeClient (client.ts) implements it over
 * client-node; functions/adapters/kube.ts turns it into the stages' KubePort (shared/ports/kube.ts), which is all
 * the handlers see. Only what the functions use is here: tests create and inspect objects with the client-node
 * APIs or tests/support/kube-objects.ts.
 */
import type { OurKind } from './schema/kinds/index.js';
import type { FluxOCIRepository, SchemaObject, ObjectOfKind, StatusOfKind } from './types.js';

/** The kinds the functions read and write: ours and Flux's OCIRepository. */
export type Kind = OurKind | 'OCIRepository';
export type ApiObject<K extends Kind> = K extends OurKind ? ObjectOfKind<K> : FluxOCIRepository;

export interface ListOptions {
  labelSelector?: string;
}

export interface EventInput {
  type: 'Normal' | 'Warning';
  /** UpperCamelCase, e.g. Succeeded, VerifyResourceFailed */
  reason: string;
  /** what happened, for people (at most 1 KiB is kept) */
  note: string;
  /** what the stage did, e.g. Resolve, Push, Publish */
  action: string;
}

export interface SecretData {
  type: string;
  data: Record<string, Buffer>;
}

/**
 * Computes the new status from the freshly read object; return undefined to leave it unchanged.
 * It may be called several times (once per conflict), so it must be pure.
 */
export type StatusMutation<K extends OurKind> = (current: ObjectOfKind<K>) => StatusOfKind<K> | undefined;

export interface KubeApi {
  /** undefined when it does not exist */
  find<K extends Kind>(kind: K, namespace: string, name: string): Promise<ApiObject<K> | undefined>;
  /** namespace undefined: all namespaces */
  list<K extends Kind>(kind: K, namespace: string | undefined, opts?: ListOptions): Promise<ApiObject<K>[]>;
  /** server-side apply of metadata + spec (create or update) with this client's field manager */
  apply<K extends Kind>(obj: ApiObject<K>): Promise<ApiObject<K>>;
  /** false when it was already gone */
  delete(kind: Kind, namespace: string, name: string, opts?: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' }): Promise<boolean>;
  /**
   * Read-modify-write of status through the status subresource: merge patch guarded by
   * resourceVersion, re-read and re-run `mutate` on conflict, so no other writer's update is lost.
   */
  updateStatus<K extends OurKind>(kind: K, namespace: string, name: string, mutate: StatusMutation<K>): Promise<ObjectOfKind<K>>;
  /** true when it changed the object */
  removeFinalizer(kind: Kind, namespace: string, name: string, finalizer: string): Promise<boolean>;
  /** events.k8s.io/v1 Event regarding the object */
  recordEvent(regarding: SchemaObject, event: EventInput): Promise<void>;
  getSecret(namespace: string, name: string): Promise<SecretData>;
  /** data of a ConfigMap (binaryData decoded as UTF-8 is not included) */
  getConfigMap(namespace: string, name: string): Promise<Record<string, string>>;
}
