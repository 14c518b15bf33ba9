/**
 * The admission webhook process: reads config from env, serves HTTPS, looks references up in the
 * cluster it runs in (optional). Run as a Deployment, not scale-to-zero: with failurePolicy Fail a
 * cold start could exceed the apiserver's timeout.
 */
import { readFile, stat } from 'node:fs/promises';
import { env, loadConfig } from '../../shared/config/index.js';
import { egressConfigSchema, egressPolicyFrom } from '../../shared/config/egress.js';
import { loadKubeConfig, type ExistsFn } from '../../shared/kube/index.js';
import { createLogger } from '../../shared/log/index.js';
import { clusterExists } from './exists.js';
import { startWebhookServer } from './server.js';

export const webhookConfigSchema = {
  ...egressConfigSchema,
  REGISTRY_URL: env.url({ description: 'the internal registry (as the stage functions have it): refused as a source or target', optional: true }),
  REGISTRY_PUBLIC_HOST: env.string({ description: 'host[:port] Flux uses to reach the internal registry: refused as a source or target too', optional: true }),
  PORT: env.int({ description: 'HTTPS port of the admission webhook.', default: 8443, min: 0, max: 65535 }),
  HOST: env.string({ description: 'Listen address; unset = all interfaces.', optional: true }),
  TLS_CERT_FILE: env.string({ description: 'PEM serving certificate (valid for <service>.<namespace>.svc).', default: '/tls/tls.crt' }),
  TLS_KEY_FILE: env.string({ description: 'PEM private key of the serving certificate.', default: '/tls/tls.key' }),
  REFERENCE_CHECKS: env.bool({ description: 'Warn when referenced objects do not exist (needs get on our kinds and configmaps).', default: true }),
  REFERENCE_TIMEOUT: env.duration({ description: 'Budget for reference lookups per review.', default: 1500, min: 50, max: 8000 }),
  KUBECONFIG: env.string({ description: 'kubeconfig for reference lookups; unset = in-cluster service account.', optional: true }),
  LOG_LEVEL: env.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, { description: 'Log level.', default: 'info' }),
} as const;

async function main(): Promise<void> {
  const config = loadConfig(webhookConfigSchema);
  const logger = createLogger({ level: config.LOG_LEVEL, base: { component: 'webhook' } });

  let exists: ExistsFn | undefined;
  let apiServer: string | undefined;
  try {
    const kc = loadKubeConfig(config.KUBECONFIG !== undefined ? { kubeconfig: config.KUBECONFIG } : {});
    apiServer = kc.getCurrentCluster()?.server;
    if (config.REFERENCE_CHECKS) exists = clusterExists(kc);
  } catch (e) {
    logger.warn({ err: e }, 'no Kubernetes config: reference warnings disabled, and the API server is refused only under its usual names');
  }
  const egress = egressPolicyFrom(config, {
    apiServer: apiServer ? [apiServer] : [],
    internalRegistry: [config.REGISTRY_URL, config.REGISTRY_PUBLIC_HOST].filter((h): h is string => h !== undefined),
  });

  const [cert, key] = await Promise.all([readFile(config.TLS_CERT_FILE), readFile(config.TLS_KEY_FILE)]);
  const hook = await startWebhookServer({ cert, key, port: config.PORT, host: config.HOST, logger, exists, egress, referenceTimeoutMs: config.REFERENCE_TIMEOUT });
  logger.info({ port: hook.port, referenceChecks: exists !== undefined }, 'admission webhook listening (POST /validate)');

  // pick up rotated certificates (cert-manager / Secret volume updates) without a restart
  let lastMtime = (await stat(config.TLS_CERT_FILE)).mtimeMs;
  const reload = setInterval(() => {
    stat(config.TLS_CERT_FILE)
      .then(async (s) => {
        if (s.mtimeMs === lastMtime) return;
        lastMtime = s.mtimeMs;
        hook.setCertificate(await readFile(config.TLS_CERT_FILE), await readFile(config.TLS_KEY_FILE));
        logger.info('serving certificate reloaded');
      })
      .catch((err: unknown) => logger.warn({ err }, 'could not check the serving certificate'));
  }, 60_000);
  reload.unref();

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    clearInterval(reload);
    hook.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
