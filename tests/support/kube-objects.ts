/**
 * Object writes and reads that tests need and the functions never do: create (AlreadyExists on a second call) and a
 * get that throws NotFoundError. KubeApi (shared/kube/api.ts) holds only what the functions use, so tests go through
 * the client's client-node API here, with errors mapped the same way (toKubeError).
 */
import { describe, gvrOf, toKubeError, type Kind, type ApiObject, type KubeClient } from '../../shared/kube/index.js';

function keyOf(obj: { kind: string; metadata: { namespace?: string; name?: string } }): { namespace: string; name: string } {
  const { namespace, name } = obj.metadata;
  if (namespace === undefined || name === undefined) throw new TypeError(`${obj.kind} needs metadata.namespace and metadata.name`);
  return { namespace, name };
}

/** POST the object; throws AlreadyExistsError when it exists. */
export async function createObject<K extends Kind>(kube: KubeClient, obj: ApiObject<K>): Promise<ApiObject<K>> {
  const { namespace, name } = keyOf(obj);
  try {
    return (await kube.custom.createNamespacedCustomObject({ ...gvrOf(obj.kind as K), namespace, body: obj })) as ApiObject<K>;
  } catch (e) {
    throw toKubeError(e, describe(obj.kind, namespace, name));
  }
}

/** GET the object; throws NotFoundError (or the server's other errors) as KubeErrors. */
export async function getObject<K extends Kind>(kube: KubeClient, kind: K, namespace: string, name: string): Promise<ApiObject<K>> {
  try {
    return (await kube.custom.getNamespacedCustomObject({ ...gvrOf(kind), namespace, name })) as ApiObject<K>;
  } catch (e) {
    throw toKubeError(e, describe(kind, namespace, name));
  }
}
