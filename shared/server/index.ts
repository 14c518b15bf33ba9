/**
 * The function host (docs/design.md §4, §9). A function's main:
 *
 *   await runFunction({
 *     stage: 'resource',
 *     configSchema: { REGISTRY_URL: env.url({ description: '...' }) },   // merged with serverConfigSchema
 *     loadHandler: async (config, { log, metrics }) => (await import('./wire.js')).createHandler(config, log, metrics),
 *   });
 *
 * A handler is `(hint: KubeEventHint, ctx: HandlerContext) => Promise<Outcome>`: return `done` / `skipped` /
 * `failed` (all 2xx; optionally with a reply CloudEvent), throw RetryLaterError (503/429) or an EventError (4xx).
 * `handlerFromStage(stage)` adapts the shared/ports `Stage` interface. Tests and in-process hosts use
 * `createFunctionServer({ stage, handle, config, logger })` directly.
 *
 * Only light modules are imported here: a main loads this before listen(); express, the CloudEvents SDK,
 * pino and prom-client load afterwards (app.ts).
 */
export { createFunctionServer, type FunctionServer } from './server.js';
export type { HostApp } from './app.js';
export { runFunction, type RunFunctionOptions } from './run.js';
export { serverConfigSchema, type ServerConfig } from './config.js';
export { RetryLaterError, classifyError, type Outcome, type ReplyEvent, type ErrorClass, type ErrorClassifier, type TransientStatus } from './outcome.js';
export type { FunctionServerOptions, HandlerContext, HostConfig, StageHandler } from './types.js';
export { stageErrorClassifier } from './stage-errors.js';
export { handlerFromStage, toOutcome, toStageHint } from './stage-adapter.js';
