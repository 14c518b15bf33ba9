import { ObjectFailure, Reason, type ComponentObject, type KubePort, type VerificationKey } from '../../shared/ports/index.js';
import { step } from '../../shared/stagekit/step.js';
import type { ComponentInput } from './spec.js';

/** the data key of a verify[] Secret that holds the Rekor log's public key (sigstore signatures) */
const REKOR_KEY = 'rekor.pub';

/** The keys a Component's signatures are checked against: inline values, or read from the Secrets `verify[]` names. */
export async function verificationKeys(kube: KubePort, obj: ComponentObject, input: ComponentInput): Promise<VerificationKey[]> {
  const keys: VerificationKey[] = [];
  for (const [i, v] of input.verify.entries()) {
    const identity = { ...(v.issuer ? { issuer: v.issuer } : {}), ...(v.subject ? { subject: v.subject } : {}) };
    if (v.value) {
      keys.push({ signature: v.signature, publicKeyPem: decodeKeyValue(v.value), ...identity });
      continue;
    }
    const secret = await step(Reason.ConfigFetchFailed, () => kube.getSecret(obj.metadata.namespace, v.secretRef!.name));
    if (!secret) {
      throw new ObjectFailure(
        Reason.ConfigFetchFailed,
        `Component ${obj.metadata.name}: spec.verify[${i}].secretRef Secret ${v.secretRef!.name} not found`,
      );
    }
    // Upstream convention: the key is stored under the signature name; accept a single-entry Secret too (the
    // Rekor key beside it aside).
    const rekor = v.signature === REKOR_KEY ? undefined : secret[REKOR_KEY];
    const entries = Object.entries(secret).filter(([k]) => k !== REKOR_KEY || v.signature === REKOR_KEY);
    const data = secret[v.signature] ?? (entries.length === 1 ? entries[0]![1] : undefined);
    if (!data) {
      throw new ObjectFailure(
        Reason.ConfigFetchFailed,
        `Component ${obj.metadata.name}: Secret ${v.secretRef!.name} has no key named ${v.signature}`,
      );
    }
    keys.push({ signature: v.signature, publicKeyPem: data.toString('utf8'), ...identity, ...(rekor ? { rekorKeyPem: rekor.toString('utf8') } : {}) });
  }
  return keys;
}

/** `value` may be a PEM or base64 of a PEM (as kubectl users often paste it). */
function decodeKeyValue(value: string): string {
  if (value.includes('-----BEGIN')) return value;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  return decoded.includes('-----BEGIN') ? decoded : value;
}
