/**
 * JSON logs (pino). Secrets are redacted by key wherever they appear near the top of a log record, so a
 * handler that logs a config object, a request, or an error carrying headers cannot leak credentials.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Keys whose values are never logged (matched at the top level and up to two levels down). */
export const SECRET_KEYS = [
  'password',
  'passwd',
  'token',
  'accessToken',
  'refreshToken',
  'identitytoken',
  'registrytoken',
  'secret',
  'secretAccessKey',
  'sessionToken',
  'authorization',
  'Authorization',
  'auth',
  'apiKey',
  'privateKey',
  'dockerconfigjson',
  '.dockerconfigjson',
  'cookie',
  'set-cookie',
  'proxy-authorization',
] as const;

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of SECRET_KEYS) {
    // Bracket notation handles keys like ".dockerconfigjson" and "set-cookie".
    const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
    const dot = k.startsWith('[') ? '' : '.';
    paths.push(k.startsWith('[') ? `${k}` : k, `*${dot}${k}`, `*.*${dot}${k}`);
  }
  return paths;
}

export interface LoggerConfig {
  level?: LogLevel;
  /** Bound to every line, e.g. { stage: 'resource', revision: 'x' }. */
  base?: Record<string, unknown>;
  /** Where to write; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(config: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { ...config.base },
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: redactPaths(), censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  // Synchronous stdout: a handful of lines per event, and lines stay in order and complete when the process
  // exits right after SIGTERM (pino's async default can reorder the last lines around process.exit).
  const destination = config.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(options, destination as pino.DestinationStream);
}
