/**
 * The contract between the test harness (tests/infra/global-setup.ts) and every integration/e2e test.
 * global-setup starts the real services once per vitest run, then `provide('services', ...)`s this
 * object; tests read it with `inject('services')` (see `services()` below). Bench scripts can start the
 * same services through tests/infra/start.ts.
 */
import { inject } from 'vitest';

export interface RegistryEndpoint {
  /** e.g. http://127.0.0.1:41234 (no trailing slash) */
  url: string;
  /** host:port, what skopeo/oras/crane take */
  host: string;
}

export interface Credentials {
  username: string;
  password: string;
}

export interface ZotEndpoint extends RegistryEndpoint {
  /** https://127.0.0.1:PORT; trust `caFile` (the run's CA) */
  url: string;
  /** PEM file of the CA that signed zot's serving certificate */
  caFile: string;
  /** user `ocm-knative`: read, create, update, delete (what the functions use) */
  push: Credentials;
  /** user `flux`: read only (what Flux uses) */
  read: Credentials;
  /** user `metrics`: GET /metrics only */
  metrics: Credentials;
  /** S3 bucket and key prefix (storageDriver.rootdirectory) it stores under */
  bucket: string;
  rootDirectory: string;
  /** the rendered config it runs with, and its log (secrets checks read it) */
  configFile: string;
  logFile: string;
}

export interface Services {
  /** scratch root for this run (deleted at teardown) */
  workDir: string;
  registry: {
    /** docker-registry 2.8, filesystem storage, plain HTTP */
    fs: RegistryEndpoint;
    /**
     * docker-registry 2.8, S3 storage driver on the S3 store below, plain HTTP. Known limit: pushing a
     * 0-byte blob fails with 500 (2.8.2 completes a multipart upload with zero parts; S3 rejects that).
     */
    s3: RegistryEndpoint & { bucket: string; rootDirectory: string };
    /** docker-registry 2.8, filesystem storage, TLS (self-signed CA) + htpasswd (bcrypt) */
    tls: RegistryEndpoint & { caFile: string; username: string; password: string };
    /**
     * zot v2.1.20 (the registry registry/ ships) with the SHIPPED registry/config.json, overriding only what a user
     * would (tests/infra/zot.ts): S3 storage on the S3 store below (bucket `zot`, prefix `/zot`, GC and retention
     * as shipped), TLS signed by `ca`, bcrypt htpasswd with the shipped users and access control. Events are off
     * (the shipped sink is a cluster address); a test that needs its own zot calls startZot() from tests/infra/zot.ts.
     */
    zot: ZotEndpoint;
  };
  s3: {
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    /** a bucket tests may use freely (the registry uses its own) */
    bucket: string;
  };
  kube: {
    /** https://127.0.0.1:PORT */
    server: string;
    /** kubeconfig file for the admin user (group system:masters) */
    kubeconfig: string;
    /** admin bearer token */
    token: string;
    /** CA that signed the apiserver serving cert (PEM file) */
    caFile: string;
    /** etcd client URL behind the apiserver (http://127.0.0.1:PORT) */
    etcd: string;
  };
  /**
   * The run's throwaway CA: it signed the TLS registry's and the apiserver's serving certs. Tests sign
   * their own serving certs with it (webhooks) via makeCert() in tests/infra/pki.ts.
   */
  ca: { certFile: string; keyFile: string };
  /** absolute paths of peer tools */
  bin: {
    skopeo: string;
    oras: string;
    crane: string;
    /** OCM CLI, if it could be built */
    ocm?: string;
    kubectl: string;
    /** helm v3, if it could be built */
    helm?: string;
    /** Knative eventing's ApiServerSource receive adapter, if it could be built */
    apiserverReceiveAdapter?: string;
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: Services;
  }
}

export function services(): Services {
  return inject('services');
}
