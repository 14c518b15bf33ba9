/** Env vars every function host reads (documented in shared/config/CONFIG.md). */
import { env, type ConfigOf } from '../config/index.js';

export const serverConfigSchema = {
  PORT: env.int({ description: 'HTTP port (Knative sets it; 0 = any free port).', default: 8080, min: 0, max: 65535 }),
  HOST: env.string({ description: 'Listen address; unset = all interfaces (IPv4 and IPv6).', optional: true }),
  LOG_LEVEL: env.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, {
    description: 'Log level.',
    default: 'info',
  }),
  BODY_LIMIT: env.bytes({
    description: 'Largest accepted request body (an event); larger ones get 413. Resource-mode events carry whole objects.',
    default: 5 * 1024 * 1024,
    min: 1024,
  }),
  SHUTDOWN_TIMEOUT: env.duration({
    description: 'On SIGTERM, how long to wait for in-flight events before exiting (keep below terminationGracePeriodSeconds).',
    default: 30_000,
    min: 0,
  }),
  REPLY_EVENTS: env.bool({
    description: 'Answer with a software.ocm.serverless.snapshot.ready|failed CloudEvent when the handler provides one (else 202 empty).',
    default: true,
  }),
  WARM_HANDLER: env.bool({
    description: 'Import the handler module right after the first readiness probe (or 100ms after listen) instead of on the first event.',
    default: true,
  }),
  PROCESS_METRICS: env.bool({ description: 'Export Node process metrics (CPU, memory, event loop) on /metrics.', default: true }),
  K_SERVICE: env.string({ description: 'Set by Knative; added to every log line.', optional: true }),
  K_REVISION: env.string({ description: 'Set by Knative; added to every log line.', optional: true }),
} as const;

export type ServerConfig = ConfigOf<typeof serverConfigSchema>;
