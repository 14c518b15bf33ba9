import { ObjectFailure, Reason, type KubeObject, type KubePort } from '../ports/index.js';
import { step } from './step.js';

/** dockerconfigjson bytes of a Secret referenced by `obj`; ConfigFetchFailed when missing or of the wrong shape. */
export async function dockerConfigFrom(
  kube: KubePort,
  obj: KubeObject,
  secretName: string | undefined,
  field: string,
): Promise<Buffer | undefined> {
  if (!secretName) return undefined;
  const data = await step(Reason.ConfigFetchFailed, () => kube.getSecret(obj.metadata.namespace, secretName));
  if (!data) {
    throw new ObjectFailure(Reason.ConfigFetchFailed, `${obj.kind} ${obj.metadata.name}: ${field} Secret ${secretName} not found`);
  }
  const cfg = data['.dockerconfigjson'] ?? data['config.json'];
  if (!cfg) {
    throw new ObjectFailure(
      Reason.ConfigFetchFailed,
      `${obj.kind} ${obj.metadata.name}: ${field} Secret ${secretName} has no .dockerconfigjson key`,
    );
  }
  return cfg;
}
