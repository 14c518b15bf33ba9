/** The webhook's review logic and HTTP handling without a cluster (the cluster tests are in tests/integration/webhook). */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { review, parseReview, MalformedReviewError, type AdmissionRequest } from '../../../functions/webhook/review.js';
import { createWebhookApp } from '../../../functions/webhook/server.js';
import { VALID, WEBHOOK_DENIED, WEBHOOK_WARNED } from '../../fixtures/kube/corpus.js';
import { EgressPolicy } from '../../../shared/egress/index.js';

const req = (object: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  uid: 'u-1',
  kind: { group: 'serverless.ocm.software', version: 'v1alpha1', kind: (object as { kind: string }).kind },
  operation: 'CREATE',
  namespace: 'ns',
  object,
  ...extra,
});

describe('review()', () => {
  it.each(VALID.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))('admits %s', async (_n, o) => {
    expect(await review(req(o))).toEqual({ uid: 'u-1', allowed: true });
  });

  it('with the egress policy: denies what points the functions at forbidden places, naming the field', async () => {
    const egress = new EgressPolicy({ internalRegistry: ['https://zot.ocm-knative-registry.svc:5000'] });
    const repo = { apiVersion: 'serverless.ocm.software/v1alpha1', kind: 'OCMRepository', metadata: { name: 'r' }, spec: { repositorySpec: { type: 'OCIRegistry', baseUrl: 'http://169.254.169.254/x' } } };
    const r = await review(req(repo), { egress });
    expect(r.allowed).toBe(false);
    expect(r.status?.details?.causes).toEqual([
      { field: 'spec.repositorySpec.baseUrl', message: '169.254.169.254:80 is not allowed: it is a link-local address (cloud metadata endpoints live here)', reason: 'FieldValueInvalid' },
    ]);
    // the same objects the runner accepts stay valid when they point somewhere allowed
    expect((await review(req(VALID.find((o) => o.kind === 'OCMRepository' && o.metadata.name === 'acme')), { egress })).allowed).toBe(true);
  });

  it.each(WEBHOOK_DENIED.map((c) => [c.title, c] as const))('denies: %s', async (_t, c) => {
    const r = await review(req(c.object));
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(422);
    expect(r.status?.message).toContain(c.message);
    expect(r.status?.details?.causes.map((x) => x.field)).toContain(c.path);
  });

  it.each(WEBHOOK_WARNED.map((c) => [c.title, c] as const))('warns (does not deny): %s', async (_t, c) => {
    const r = await review(req(c.object), { exists: async (kind) => kind === 'Secret' ? undefined : false });
    expect(r.allowed).toBe(true);
    expect(r.warnings?.join('\n')).toContain(c.message);
  });

  it('answers within the reference budget when lookups hang, without a warning for them', async () => {
    const t0 = Date.now();
    const r = await review(req(WEBHOOK_WARNED[0]!.object), { exists: () => new Promise(() => undefined), referenceTimeoutMs: 100 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(r).toEqual({ uid: 'u-1', allowed: true });
  });

  it('lets deletes, status writes and foreign kinds through', async () => {
    const bad = WEBHOOK_DENIED[0]!.object;
    expect((await review(req(bad, { operation: 'DELETE' }))).allowed).toBe(true);
    expect((await review(req(bad, { subResource: 'status', operation: 'UPDATE' }))).allowed).toBe(true);
    expect((await review(req(bad, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }))).allowed).toBe(true);
  });

  it('parseReview: no uid -> MalformedReviewError; uid but wrong shape -> a problem to deny with', () => {
    expect(() => parseReview('x')).toThrow(MalformedReviewError);
    expect(() => parseReview({ request: {} })).toThrow(MalformedReviewError);
    expect(parseReview({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'u' } })).toMatchObject({ uid: 'u', problem: expect.stringContaining('admission.k8s.io/v1') });
    expect(parseReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: '', kind: 'X' }, operation: 'EXPLODE' } })).toMatchObject({ problem: expect.stringContaining('operation') });
  });
});

describe('webhook HTTP handling (plain HTTP here; HTTPS in the integration test)', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer(createWebhookApp({ bodyLimit: '64kb' }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const post = (body: string, path = '/validate') => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('answers malformed input with 400 and a message, and keeps serving', async () => {
    for (const body of ['{not json', '[]', '"str"', '{}', JSON.stringify({ request: { uid: 5 } }), 'x'.repeat(100_000)]) {
      const res = await post(body);
      expect(res.status, body.slice(0, 20)).toBeGreaterThanOrEqual(400);
      expect(res.status, body.slice(0, 20)).toBeLessThan(500);
      expect(((await res.json()) as { message: string }).message).toMatch(/AdmissionReview|malformed/);
    }
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('denies a review with a uid but no object, echoing the uid', async () => {
    const res = await post(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'abc', kind: { group: 'serverless.ocm.software', version: 'v1alpha1', kind: 'Component' }, operation: 'CREATE' } }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'abc', allowed: false, status: { code: 400 } } });
  });

  it('denies invalid objects over HTTP, and counts reviews in /metrics', async () => {
    const c = WEBHOOK_DENIED[0]!;
    const res = await post(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: req(c.object) }), '/');
    const body = (await res.json()) as { response: { allowed: boolean; status: { message: string } } };
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.message).toContain(c.message);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/ocm_knative_admission_reviews_total\{kind="Component",operation="CREATE",result="denied"\} [1-9]/);
    expect(metrics).toMatch(/ocm_knative_admission_reviews_total\{kind="",operation="",result="malformed"\} [1-9]/);
  });
});
