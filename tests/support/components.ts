/**
 * Test components built with shared/ocm's writer (no OCM CLI needed): a Helm chart as localBlob, a plain manifests
 * tarball, and optionally an ociArtifact reference; signed with an RSA key when asked.
 */
import { generateKeyPairSync } from 'node:crypto';
import { MediaType } from '../../shared/oci/media-types.js';
import {
  descriptorSet,
  localBlobResource,
  signComponent,
  type ComponentDescriptor,
  type ComponentVersionInput,
  type Resource,
} from '../../shared/ocm/index.js';
import { sha256 } from './digest.js';
import { packed } from './tar.js';

export const COMPONENT = 'ocm.software/test/podinfo';

export async function helmChart(version: string): Promise<Buffer> {
  return packed([
    { path: 'podinfo', type: 'directory' },
    { path: 'podinfo/Chart.yaml', type: 'file', content: `apiVersion: v2\nname: podinfo\nversion: ${version}\nappVersion: "${version}"\n` },
    {
      path: 'podinfo/values.yaml',
      type: 'file',
      content: '# replicas of the deployment\nreplicaCount: 1\nimage:\n  repository: ghcr.io/stefanprodan/podinfo\n  tag: "6.0.0"\n',
    },
    { path: 'podinfo/templates', type: 'directory' },
    {
      path: 'podinfo/templates/deployment.yaml',
      type: 'file',
      content: 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n',
    },
  ]);
}

export async function manifestsTar(version: string): Promise<Buffer> {
  return packed([
    { path: 'deploy.yaml', type: 'file', content: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  version: "${version}"\n  color: blue\n` },
    { path: 'kustomization.yaml', type: 'file', content: 'resources:\n  - deploy.yaml\n' },
  ]);
}

export interface BuildOptions {
  version: string;
  /** an extra ociArtifact resource `image` pointing at this reference (with its digest if given) */
  image?: { reference: string; digest?: string };
  /** resources whose blob is replaced after the digest was recorded (digest mismatch) */
  corruptBlob?: string;
  /** a plain YAML resource `config` holding configuration rules (a config Resource for Configuration.configRef) */
  rules?: string;
  /** the `manifests` tarball (default: manifestsTar(version)) */
  manifests?: Buffer;
  /** the `chart` archive (default: helmChart(version)) */
  chart?: Buffer;
}

export async function componentVersion(opts: BuildOptions): Promise<ComponentVersionInput> {
  const chart = await localBlobResource(
    { name: 'chart', version: opts.version, type: 'helmChart' },
    { mediaType: MediaType.HelmChart, data: opts.chart ?? (await helmChart(opts.version)) },
  );
  const manifests = await localBlobResource(
    { name: 'manifests', version: opts.version, type: 'blob' },
    { mediaType: MediaType.LayerGzip, data: opts.manifests ?? (await manifestsTar(opts.version)) },
  );
  const resources: Resource[] = [chart.resource, manifests.resource];
  const blobs = [chart.blob, manifests.blob];
  if (opts.rules !== undefined) {
    const config = await localBlobResource(
      { name: 'config', version: opts.version, type: 'config' },
      { mediaType: 'application/x-yaml', data: Buffer.from(opts.rules) },
    );
    resources.push(config.resource);
    blobs.push(config.blob);
  }
  if (opts.image) {
    resources.push({
      name: 'image',
      version: opts.version,
      type: 'ociImage',
      relation: 'external',
      access: { type: 'ociArtifact', imageReference: opts.image.reference },
      ...(opts.image.digest
        ? { digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'ociArtifactDigest/v1', value: opts.image.digest.replace(/^sha256:/, '') } }
        : {}),
    });
  }
  if (opts.corruptBlob) {
    const i = resources.findIndex((r) => r.name === opts.corruptBlob);
    const r = resources[i]!;
    // keep the recorded digest and access, but change the stored bytes
    const other = await manifestsTar(`${opts.version}-tampered`);
    const idx = blobs.findIndex((b) => b.digest === `sha256:${r.digest!.value}`);
    blobs[idx] = { ...blobs[idx]!, data: other, size: other.length };
    // the CTF stores blobs by their real digest; point the access at the tampered bytes
    const real = sha256(other);
    blobs[idx]!.digest = real;
    r.access = { ...r.access!, localReference: real };
  }
  const descriptor: ComponentDescriptor = {
    schemaVersion: 'v2',
    name: COMPONENT,
    version: opts.version,
    provider: { name: 'ocm-knative-tests' },
    repositoryContexts: [],
    sources: [],
    references: [],
    resources,
    signatures: [],
  };
  return { descriptor, blobs };
}

/**
 * A fresh RSA key pair as PEM: the public key as SPKI, the private key as PKCS#8 (`BEGIN PRIVATE KEY`) or, for the
 * places that show the OCM CLI's own format, PKCS#1 (`BEGIN RSA PRIVATE KEY`).
 */
export function rsaKeys(opts: { privateKeyEncoding?: 'pkcs8' | 'pkcs1' } = {}): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: privateKey.export({ type: opts.privateKeyEncoding ?? 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export async function sign(cv: ComponentVersionInput, privateKey: string, name = 'acme'): Promise<ComponentVersionInput> {
  const set = await signComponent(descriptorSet(cv.descriptor), { signatureName: name, privateKey });
  return { ...cv, descriptor: set.root };
}
