export * from './types.js';
export * from './errors.js';
export * from './constants.js';
export { parseHttpEvent, toBinaryMessage, toStructuredMessage, isJsonContentType, type HeaderBag, type HttpMessage } from './http.js';
export { toHint, type HintOptions } from './hint.js';
export { RegistryEventTypes, fromRegistryEvent, producerOfRepository } from './registry.js';
export {
  apiServerSourceEvent,
  apiServerSubject,
  pingSourceEvent,
  snapshotReplyEvent,
  type ApiServerSourceEventInput,
  type ApiServerSourceMode,
  type PingSourceEventInput,
  type SnapshotInfo,
  type SnapshotReplyInput,
  type SnapshotReplyData,
} from './build.js';
export { validTraceparent, validTracestate } from './trace.js';
export { CloudEvent, type CloudEventV1 } from 'cloudevents';
