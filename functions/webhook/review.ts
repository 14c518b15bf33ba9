/**
 * AdmissionReview v1 handling for our kinds: the semantic checks the CRD's schema and CEL rules cannot
 * do (the apiserver has already applied those before a validating webhook runs), plus warnings for
 * references to objects that do not exist yet. Pure logic; reference lookups come in as a function.
 */
import { egressIssues, type EgressPolicy } from '../../shared/egress/index.js';
import { GROUP, isOurKind, referenceWarnings, semanticIssues, type ExistsFn, type ValidationIssue } from '../../shared/kube/index.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: {
    code: number;
    reason?: string;
    message: string;
    details?: { name?: string; group?: string; kind?: string; causes: Array<{ field: string; message: string; reason: string }> };
  };
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** The review cannot be answered as a review (no uid to answer to): HTTP 400. */
export class MalformedReviewError extends Error {
  override name = 'MalformedReviewError';
}

export interface ReviewDeps {
  /** looks referenced objects up; without it no reference warnings are given */
  exists?: ExistsFn;
  /** budget for reference lookups, ms */
  referenceTimeoutMs?: number;
  /** where objects may point (shared/egress); without it nothing is checked here (the stages still check) */
  egress?: EgressPolicy;
}

const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];
const MAX_WARNING = 250;

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);

/**
 * Extracts the request. Throws MalformedReviewError when there is no uid to answer to; returns a
 * denial reason (string) when there is a uid but the rest is unusable.
 */
export function parseReview(body: unknown): { request: AdmissionRequest } | { uid: string; problem: string } {
  const review = rec(body);
  if (review === undefined) throw new MalformedReviewError('body is not a JSON object (expected an AdmissionReview)');
  const request = rec(review['request']);
  const uid = request?.['uid'];
  if (request === undefined || typeof uid !== 'string' || uid === '') throw new MalformedReviewError('AdmissionReview has no request.uid');
  if (review['apiVersion'] !== ADMISSION_API_VERSION || review['kind'] !== 'AdmissionReview') {
    return { uid, problem: `expected apiVersion ${ADMISSION_API_VERSION}, kind AdmissionReview (configure admissionReviewVersions: ["v1"])` };
  }
  const kind = rec(request['kind']);
  if (kind === undefined || typeof kind['kind'] !== 'string' || typeof kind['group'] !== 'string') return { uid, problem: 'request.kind is missing' };
  if (typeof request['operation'] !== 'string' || !OPERATIONS.includes(request['operation'])) return { uid, problem: 'request.operation is missing or unknown' };
  return { request: request as unknown as AdmissionRequest };
}

export function allow(uid: string, warnings: string[] = []): AdmissionResponse {
  return warnings.length > 0 ? { uid, allowed: true, warnings } : { uid, allowed: true };
}

export function deny(uid: string, code: number, message: string, causes: ValidationIssue[] = [], details: { name?: string; kind?: string } = {}): AdmissionResponse {
  return {
    uid,
    allowed: false,
    status: {
      code,
      reason: code === 422 ? 'Invalid' : 'BadRequest',
      message,
      ...(causes.length > 0
        ? { details: { ...details, group: GROUP, causes: causes.map((c) => ({ field: c.path, message: c.message, reason: 'FieldValueInvalid' })) } }
        : {}),
    },
  };
}

const clip = (s: string) => (s.length > MAX_WARNING ? `${s.slice(0, MAX_WARNING - 3)}...` : s);

export async function review(request: AdmissionRequest, deps: ReviewDeps = {}): Promise<AdmissionResponse> {
  const { uid, operation } = request;
  const kind = request.kind.kind;
  if (operation === 'DELETE' || operation === 'CONNECT') return allow(uid);
  if (request.subResource !== undefined && request.subResource !== '') return allow(uid); // status writes come from our stages
  if (request.kind.group !== GROUP || !isOurKind(kind)) return allow(uid);
  const obj = rec(request.object);
  if (obj === undefined) return deny(uid, 400, `request.object is missing for ${operation} of ${kind}`);

  const name = (rec(obj['metadata'])?.['name'] as string | undefined) ?? request.name ?? '';
  const issues = semanticIssues(kind, obj);
  if (deps.egress) {
    for (const e of egressIssues(kind, obj, deps.egress)) issues.push({ ...e, severity: 'error', source: 'semantic' });
  }
  const errs = issues.filter((i) => i.severity === 'error');
  if (errs.length > 0) {
    const list = errs.map((i) => `${i.path}: ${i.message}`).join('; ');
    return deny(uid, 422, `${kind} "${name}" is invalid: ${list}`, errs, { name, kind });
  }
  const warnings = issues.filter((i) => i.severity === 'warning').map((i) => clip(`${i.path}: ${i.message}`));
  const namespace = request.namespace ?? (rec(obj['metadata'])?.['namespace'] as string | undefined);
  if (deps.exists !== undefined && namespace !== undefined) {
    const refs = await referenceWarnings(kind, obj, namespace, deps.exists, deps.referenceTimeoutMs ?? 1500);
    warnings.push(...refs.map((i) => clip(`${i.path}: ${i.message}`)));
  }
  return allow(uid, warnings);
}
