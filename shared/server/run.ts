/**
 * What every function's `main.ts` calls: read + validate config, create the logger, listen, handle SIGTERM.
 * The handler module is imported lazily through `loadHandler`, so start-up does nothing but read config.
 */
import { ConfigError, loadConfig, type ConfigOf, type ConfigSchema } from '../config/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { createMetrics, type StageMetrics } from '../metrics/index.js';
import { serverConfigSchema, type ServerConfig } from './config.js';
import type { ErrorClassifier } from './outcome.js';
import { createFunctionServer, type FunctionServer } from './server.js';
import { stageErrorClassifier } from './stage-adapter.js';
import type { StageHandler } from './types.js';

export interface RunFunctionOptions<S extends ConfigSchema> {
  stage: string;
  /** The function's own env vars (merged with the host's; see shared/config/CONFIG.md). */
  configSchema?: S;
  /** Build the handler: import adapters here (dynamic import) so they load after listen(). */
  loadHandler: (config: ServerConfig & ConfigOf<S>, deps: { log: Logger; metrics: StageMetrics }) => Promise<StageHandler>;
  /** Tried first; then the ports' BadEventError -> 422; then the default rules (outcome.ts). */
  classifyError?: ErrorClassifier;
  env?: NodeJS.ProcessEnv;
  /** Defaults to process.exit; tests override. */
  exit?: (code: number) => void;
}

export async function runFunction<S extends ConfigSchema = Record<never, never>>(
  options: RunFunctionOptions<S>,
): Promise<FunctionServer | undefined> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let config: ServerConfig & ConfigOf<S>;
  try {
    config = loadConfig({ ...serverConfigSchema, ...options.configSchema }, options.env ?? process.env) as ServerConfig & ConfigOf<S>;
  } catch (err) {
    if (err instanceof ConfigError) {
      // Plain text on stderr: this is read by a person looking at a crash-looping pod.
      process.stderr.write(`ocm-knative ${options.stage}: ${err.message}\n`);
      exit(78); // EX_CONFIG
      return undefined;
    }
    throw err;
  }
  const log = createLogger({
    level: config.LOG_LEVEL,
    base: {
      ...(config.K_SERVICE ? { service: config.K_SERVICE } : {}),
      ...(config.K_REVISION ? { revision: config.K_REVISION } : {}),
    },
  });
  const metrics = createMetrics({ stage: options.stage, processMetrics: config.PROCESS_METRICS });
  const server = createFunctionServer({
    stage: options.stage,
    config,
    logger: log,
    metrics,
    loadHandler: () => options.loadHandler(config, { log: log.child({ stage: options.stage }), metrics }),
    classifyError: (err) => options.classifyError?.(err) ?? stageErrorClassifier(err),
  });
  server.installSignalHandlers(exit);
  try {
    await server.listen();
  } catch (err) {
    log.fatal({ err, port: config.PORT }, `cannot listen on port ${config.PORT}: ${(err as Error).message}`);
    exit(1);
    return undefined;
  }
  return server;
}
