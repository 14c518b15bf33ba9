/**
 * The Kubernetes port the handlers depend on. KubeClient (client.ts) implements it against a real API
 * server; the local runner implements it over files.
 */
import type { OurKind } from './schema/kinds/index.js';
import type { FluxOCIRepository, KubeObject, ObjectOfKind, StatusOfKind } from './types.js';

export type ApiKind = OurKind | 'OCIRepository';
export type ApiObject<K extends ApiKind> = K extends OurKind ? ObjectOfKind<K> : FluxOCIRepository;

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

/** One entry of a dockerconfigjson `auths` map. */
export interface DockerAuth {
  username?: string;
  password?: string;
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
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

export interface KubePort {
  /** throws NotFoundError */
  get<K extends ApiKind>(kind: K, namespace: string, name: string): Promise<ApiObject<K>>;
  /** undefined when it does not exist */
  find<K extends ApiKind>(kind: K, namespace: string, name: string): Promise<ApiObject<K> | undefined>;
  /** namespace undefined: all namespaces */
  list<K extends ApiKind>(kind: K, namespace: string | undefined, opts?: ListOptions): Promise<ApiObject<K>[]>;
  /** throws AlreadyExistsError */
  create<K extends ApiKind>(obj: ApiObject<K>): Promise<ApiObject<K>>;
  /** server-side apply of metadata + spec (create or update) with this client's field manager */
  apply<K extends ApiKind>(obj: ApiObject<K>): Promise<ApiObject<K>>;
  /** false when it was already gone */
  delete(kind: ApiKind, namespace: string, name: string, opts?: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' }): Promise<boolean>;
  /**
   * Read-modify-write of status through the status subresource: merge patch guarded by
   * resourceVersion, re-read and re-run `mutate` on conflict, so no other writer's update is lost.
   */
  updateStatus<K extends OurKind>(kind: K, namespace: string, name: string, mutate: StatusMutation<K>): Promise<ObjectOfKind<K>>;
  /** server-side apply of the status fields this client's field manager owns */
  applyStatus<K extends OurKind>(kind: K, namespace: string, name: string, status: Partial<StatusOfKind<K>>): Promise<ObjectOfKind<K>>;
  /** true when it changed the object */
  addFinalizer(kind: ApiKind, namespace: string, name: string, finalizer: string): Promise<boolean>;
  removeFinalizer(kind: ApiKind, namespace: string, name: string, finalizer: string): Promise<boolean>;
  /** events.k8s.io/v1 Event regarding the object */
  recordEvent(regarding: KubeObject, event: EventInput): Promise<void>;
  getSecret(namespace: string, name: string): Promise<SecretData>;
  /** `auths` of a kubernetes.io/dockerconfigjson Secret, keyed by registry host */
  dockerConfig(namespace: string, name: string): Promise<Record<string, DockerAuth>>;
  /** data of a ConfigMap (binaryData decoded as UTF-8 is not included) */
  getConfigMap(namespace: string, name: string): Promise<Record<string, string>>;
}

export const FINALIZER = 'serverless.ocm.software/cleanup';
