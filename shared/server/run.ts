/**
 * What every function's `main.ts` calls: read + validate config, listen, handle SIGTERM. Everything heavier
 * (express, CloudEvents SDK, pino, prom-client, then the handler via `loadHandler`) loads after listen().
 */
import { ConfigError, loadConfig, type ConfigOf, type ConfigSchema } from '../config/index.js';
import { keepWasmInBaselineTier } from '../oci/wasm-tiering.js';
import { collectYoungGarbage } from '../oci/young-garbage.js';
import type { Logger } from '../log/index.js';
import type { StageMetrics } from '../metrics/index.js';
import { serverConfigSchema, type ServerConfig } from './config.js';
import type { ErrorClassifier } from './outcome.js';
import { createFunctionServer, type FunctionServer } from './server.js';
import { stageErrorClassifier } from './stage-errors.js';
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
  // this is every function's process entry: the one place for a process-wide V8 flag (see wasm-tiering.ts)
  keepWasmInBaselineTier();
  // and for a process-wide collection of the young generation while blobs stream (see young-garbage.ts)
  collectYoungGarbage();
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
  const server: FunctionServer = createFunctionServer({
    stage: options.stage,
    config,
    loadHandler: async () => {
      const host = await server.loaded();
      return options.loadHandler(config, { log: host.log, metrics: host.metrics });
    },
    classifyError: (err) => options.classifyError?.(err) ?? stageErrorClassifier(err),
  });
  server.installSignalHandlers(exit);
  try {
    await server.listen();
  } catch (err) {
    process.stderr.write(`ocm-knative ${options.stage}: cannot listen on port ${config.PORT}: ${(err as Error).message}\n`);
    exit(1);
    return undefined;
  }
  return server;
}
