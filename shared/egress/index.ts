/** Where objects may point the functions (see policy.ts); admission.ts for the webhook. */
export { EgressPolicy, EgressRefusedError, SOURCE_NOT_ALLOWED, egressRefusal, splitHostPort, type EgressSettings } from './policy.js';
export { egressIssues, type EgressIssue } from './admission.js';
