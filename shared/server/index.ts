export { createFunctionServer, type FunctionServer, type FunctionServerOptions, type HostConfig } from './server.js';
export { runFunction, type RunFunctionOptions } from './run.js';
export { serverConfigSchema, type ServerConfig } from './config.js';
export { TransientError, classifyError, type Outcome, type ErrorClass, type ErrorClassifier, type TransientStatus } from './outcome.js';
export type { HandlerContext, StageHandler } from './types.js';
export { handlerFromStage, toOutcome, toStageHint, stageErrorClassifier } from './stage-adapter.js';
