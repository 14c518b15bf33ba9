/** Reference lookups for the webhook against the cluster it serves. */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { KubeClient, NotFoundError, toKubeError, type ExistsFn } from '../../shared/kube/index.js';

/**
 * true/false when the object does/does not exist; undefined when it could not be told (no warning then).
 * Secrets are never read: the webhook's ServiceAccount has no business with them.
 */
export function clusterExists(kc: KubeConfig): ExistsFn {
  const kube = new KubeClient(kc, { fieldManager: 'ocm-knative-webhook' });
  const core = kc.makeApiClient(CoreV1Api);
  return async (kind, namespace, name) => {
    if (kind === 'Secret') return undefined;
    try {
      if (kind === 'ConfigMap') {
        await core.readNamespacedConfigMap({ namespace, name });
        return true;
      }
      return (await kube.find(kind, namespace, name)) !== undefined;
    } catch (e) {
      return toKubeError(e, `${kind} ${namespace}/${name}`) instanceof NotFoundError ? false : undefined;
    }
  };
}
