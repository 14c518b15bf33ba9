/**
 * Real adapters for the function mains, configured from env vars (validated at start by shared/config).
 * Imported lazily by each main's loadHandler, so start-up stays at reading config.
 */
import { env, type ConfigOf } from '../../shared/config/index.js';
import type { CosignSigner } from '../../shared/oci/cosign.js';
import { egressConfigSchema, egressPolicyFrom } from '../../shared/config/egress.js';
import type { ArtifactStore, KubeObject, KubePort, LayerText, Logger, OcmSource, Stage } from '../../shared/ports/index.js';

export const stageConfigSchema = {
  KUBECONFIG: env.string({ description: 'kubeconfig file; unset = in-cluster service account', optional: true }),
  REGISTRY_URL: env.url({
    description: 'internal registry for snapshots, e.g. https://zot.ocm-system.svc:5000 (no /v2)',
    protocols: ['http:', 'https:'],
  }),
  REGISTRY_CA_FILE: env.string({ description: 'PEM CA bundle for the internal registry (added to the public roots)', optional: true }),
  REGISTRY_USERNAME: env.string({ description: 'internal registry user (basic or token auth)', optional: true }),
  REGISTRY_PASSWORD: env.string({ description: 'internal registry password', optional: true, secret: true }),
  REGISTRY_PUBLIC_HOST: env.string({
    description: 'host[:port] Flux uses to reach the internal registry (default: the host of REGISTRY_URL)',
    optional: true,
  }),
  FLUX_INSECURE: env.bool({ description: 'set insecure: true on OCIRepositories (default: true when REGISTRY_URL is http)', optional: true }),
  FLUX_CERT_SECRET: env.string({ description: 'Secret name (ca.crt) put as certSecretRef on OCIRepositories', optional: true }),
  FLUX_SECRET: env.string({ description: 'dockerconfigjson Secret name put as secretRef on OCIRepositories', optional: true }),
  INSECURE_REGISTRIES: env.string({ description: 'comma-separated host:port of source/target registries reached over plain HTTP', optional: true }),
  SOURCE_CA_FILE: env.string({ description: 'PEM CA bundle for source and target registries', optional: true }),
  KUBE_CACHE: env.bool({
    description: 'answer reads from a list+watch cache of our kinds (needs list and watch on them; default true); false = every read is an API request',
    optional: true,
  }),
  ...egressConfigSchema,
} as const;

export type StageConfig = ConfigOf<typeof stageConfigSchema>;

/** The publish function also signs what it hands to Flux when it has a key. */
export const publishConfigSchema = {
  ...stageConfigSchema,
  SIGNING_KEY_FILE: env.string({
    description:
      'PEM file of an unencrypted ECDSA P-256 private key (mounted from a Secret): publish signs every published artifact with it, cosign-compatible, and writes spec.verify on OCIRepositories; unset = no signing',
    optional: true,
  }),
  FLUX_VERIFY_SECRET: env.string({
    description: 'Secret (key cosign.pub, in each OCIRepository namespace) named in spec.verify.secretRef when signing is on',
    default: 'ocm-knative-cosign-pub',
  }),
} as const;

export type PublishConfig = ConfigOf<typeof publishConfigSchema>;

export interface Signing {
  signer: CosignSigner;
  verifySecretRef: string;
}

/**
 * The signing key from SIGNING_KEY_FILE, or undefined (no signing) when it is unset; says which at start. A key
 * that cannot be read or is not ECDSA P-256 fails the start with a message naming the variable.
 */
export async function signingFrom(config: PublishConfig, log?: Logger): Promise<Signing | undefined> {
  if (!config.SIGNING_KEY_FILE) {
    log?.info({ signing: false }, 'signing off: SIGNING_KEY_FILE is not set, published artifacts are not signed and OCIRepositories carry no spec.verify');
    return undefined;
  }
  const [{ readFile }, { CosignSigner: Signer }, { createHash }] = await Promise.all([
    import('node:fs/promises'),
    import('../../shared/oci/cosign.js'),
    import('node:crypto'),
  ]);
  let pem: string;
  try {
    pem = await readFile(config.SIGNING_KEY_FILE, 'utf8');
  } catch (err) {
    throw new Error(`SIGNING_KEY_FILE: cannot read ${config.SIGNING_KEY_FILE} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let signer: CosignSigner;
  try {
    signer = new Signer(pem);
  } catch (err) {
    throw new Error(`SIGNING_KEY_FILE: ${(err as Error).message}`);
  }
  const fingerprint = createHash('sha256').update(signer.publicKeyPem).digest('hex').slice(0, 16);
  log?.info(
    { signing: true, publicKeySha256: fingerprint, verifySecret: config.FLUX_VERIFY_SECRET },
    'signing on: published artifacts are signed (cosign simple signing, ECDSA P-256); OCIRepositories verify with the public key in verifySecret',
  );
  return { signer, verifySecretRef: config.FLUX_VERIFY_SECRET };
}

export interface StageDeps {
  kube: KubePort;
  store: ArtifactStore & { close(): Promise<void> };
  ocm: OcmSource;
  layerText: LayerText;
  /** Wraps the stage built on these deps so each event tells the read cache what it has seen (identity without one). */
  prepare(stage: Stage): Stage;
  /** Stops the watches and closes the registry client. */
  close(): Promise<void>;
}

function list(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function realDeps(config: StageConfig, stage: string, log?: Logger, opts: { signing?: Signing } = {}): Promise<StageDeps> {
  const [
    { KubeClient, WatchCache, loadKubeConfig },
    { RegistryStore },
    { artifactStoreAdapter },
    { kubePortAdapter },
    { ocmSourceAdapter },
    { cachedKubePort, withFreshReads },
    { layerText },
  ] = await Promise.all([
    import('../../shared/kube/index.js'),
    import('../../shared/snapshot/index.js'),
    import('./artifact-store.js'),
    import('./kube.js'),
    import('./ocm-source.js'),
    import('./cached-kube.js'),
    import('./layer-text.js'),
  ]);
  const kc = loadKubeConfig(config.KUBECONFIG ? { kubeconfig: config.KUBECONFIG } : {});
  const client = new KubeClient(kc, { fieldManager: `ocm-knative-${stage}` });
  const direct = kubePortAdapter(client, stage);
  const kube =
    config.KUBE_CACHE === false
      ? undefined
      : cachedKubePort(
          direct,
          new WatchCache<KubeObject>(kc, client, {
            // reads go to the API meanwhile, so this is worth a warning, not a failure
            onError: (kind, err) => log?.warn({ kind, err: err.message }, 'watch cache unavailable; reading from the API'),
          }),
        );
  const registryUrl = config.REGISTRY_URL.replace(/\/+$/, '');
  // sources and targets tenants name may not be the API server or the internal registry (shared/egress)
  const apiServer = kc.getCurrentCluster()?.server;
  const egress = egressPolicyFrom(config, {
    apiServer: apiServer ? [apiServer] : [],
    internalRegistry: [registryUrl, ...(config.REGISTRY_PUBLIC_HOST ? [config.REGISTRY_PUBLIC_HOST] : [])],
  });
  const insecureHosts = list(config.INSECURE_REGISTRIES);
  const store = artifactStoreAdapter(
    new RegistryStore({
      url: registryUrl,
      ...(config.REGISTRY_CA_FILE ? { caFile: config.REGISTRY_CA_FILE } : {}),
      ...(config.REGISTRY_USERNAME && config.REGISTRY_PASSWORD
        ? { credentials: { username: config.REGISTRY_USERNAME, password: config.REGISTRY_PASSWORD } }
        : {}),
    }),
    {
      ...(config.REGISTRY_PUBLIC_HOST ? { publicHost: config.REGISTRY_PUBLIC_HOST } : {}),
      insecureHosts,
      ...(config.SOURCE_CA_FILE ? { caFile: config.SOURCE_CA_FILE } : {}),
      ...(opts.signing ? { signing: opts.signing } : {}),
      egress,
      flux: {
        insecure: config.FLUX_INSECURE ?? registryUrl.startsWith('http:'),
        ...(config.FLUX_CERT_SECRET ? { certSecretRef: config.FLUX_CERT_SECRET } : {}),
        ...(config.FLUX_SECRET ? { secretRef: config.FLUX_SECRET } : {}),
      },
    },
  );
  const ocm = ocmSourceAdapter({ insecureHosts, egress, ...(config.SOURCE_CA_FILE ? { caFile: config.SOURCE_CA_FILE } : {}) });
  return {
    kube: kube ?? direct,
    store,
    ocm,
    layerText,
    prepare: (s) => (kube ? withFreshReads(s, kube) : s),
    close: async () => {
      await kube?.close();
      await store.close();
    },
  };
}
