// Light exports only at the top: a function's main imports this module before listen().
export { createFunctionServer, type FunctionServer, type FunctionServerOptions, type HostConfig } from './server.js';
export type { HostApp } from './app.js';
export { runFunction, type RunFunctionOptions } from './run.js';
export { serverConfigSchema, type ServerConfig } from './config.js';
export { TransientError, classifyError, type Outcome, type ReplyEvent, type ErrorClass, type ErrorClassifier, type TransientStatus } from './outcome.js';
export type { HandlerContext, StageHandler } from './types.js';
export { stageErrorClassifier } from './stage-errors.js';
export { handlerFromStage, toOutcome, toStageHint } from './stage-adapter.js';
