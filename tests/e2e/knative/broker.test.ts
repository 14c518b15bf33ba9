/**
 * Issue 17: the shipped Broker, Triggers, PingSource and ApiServerSource run by Knative Eventing's own
 * controllers and data plane (tests/infra/knative/), in front of the four real functions. Each scenario goes
 * through Knative's broker ingress, in-memory channel dispatcher and broker filter; the taps in front of the
 * functions only record (and, where a test says so, answer 503 in the function's place).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OCIRepositoryObject, SnapshotObject } from '../../../shared/ports/index.js';
import { services } from '../../infra/services.js';
import { componentVersion, COMPONENT } from '../../support/components.js';
import { REPLICAS_RULE } from '../../support/podinfo.js';
import { isReadyNow, ready } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import { registryContents } from '../resilience/cluster.js';
import { zotAccess } from '../resilience/rig.js';

import { startKnativeRig, STAGES, type KnativeRig } from './rig.js';
import type { Delivery } from './tap.js';

const PING = 'dev.knative.sources.ping';
const REPLY_PREFIX = 'software.ocm.serverless.snapshot.';
const CHART_RULES = [REPLICAS_RULE];

describe('Knative Eventing for real: shipped Broker and Triggers in front of the functions', () => {
  let rig: KnativeRig;

  beforeAll(async () => {
    // a test-only Trigger: where replies go once the functions answer with one (nothing shipped subscribes to them)
    rig = await startKnativeRig({ sinkTriggers: { replies: [{ prefix: { type: REPLY_PREFIX } }] } });
    await rig.p.pushSource(await componentVersion({ version: '1.0.0', image: { reference: 'ghcr.io/stefanprodan/podinfo:6.1.0' } }));
    await rig.p.create('OCMRepository', 'source', { repositorySpec: { type: 'OCIRegistry', baseUrl: rig.p.sourceBaseUrl } });
    // Knative's start (eight processes, its config applied) takes ~12 s; a generous budget for the loaded shared machine
  }, 600_000);
  afterAll(async () => rig?.stop());

  it('every shipped Broker, Trigger and source is Ready in Knative\'s own status', async () => {
    const r = await rig.readiness();
    const shipped = rig.applied.filter((o) => ['Broker', 'Trigger', 'PingSource', 'ApiServerSource'].includes(o.kind));
    expect(shipped.filter((o) => o.kind === 'Trigger').length).toBeGreaterThanOrEqual(13);
    for (const o of shipped) expect(r.find((x) => x.kind === o.kind && x.name === o.metadata.name), `${o.kind} ${o.metadata.name}`).toMatchObject({ ready: 'True' });
    const broker = (await rig.p.api.getNamespacedCustomObject({ group: 'eventing.knative.dev', version: 'v1', namespace: rig.system, plural: 'brokers', name: 'ocm-knative' })) as {
      status: { address: { url: string } };
    };
    expect(broker.status.address.url).toBe(rig.knative.brokerUrl(rig.system, 'ocm-knative'));
    const trigger = (await rig.p.api.getNamespacedCustomObject({ group: 'eventing.knative.dev', version: 'v1', namespace: rig.system, plural: 'triggers', name: 'descriptor-component' })) as {
      status: { subscriberUri: string; deadLetterSinkUri: string };
    };
    expect(trigger.status.subscriberUri).toBe(`http://descriptor.${rig.system}.svc.cluster.local/`);
    expect(trigger.status.deadLetterSinkUri).toBe(`http://dead-letter.${rig.system}.svc.cluster.local/`);
  });

  it('scenario 1: Component -> Resource -> Configuration -> Publication -> OCIRepository through the real Broker', async () => {
    const { p } = rig;
    await p.create('Resource', 'chart', { componentRef: { name: 'podinfo' }, resource: { byReference: { resource: { name: 'chart' } } } });
    await p.create('Configuration', 'chart', {
      target: { kind: 'Resource', name: 'chart' },
      rules: CHART_RULES,
    });
    await p.create('Publication', 'chart', { source: { kind: 'Configuration', name: 'chart' } });
    const t0 = performance.now();
    await p.create('Component', 'podinfo', { repositoryRef: { name: 'source' }, component: COMPONENT, semver: '>=1.0.0' });
    const repo = await waitFor('the OCIRepository', async () => (isReadyNow(await p.get('Publication', 'chart')) ? ((await p.getOCIRepository('chart')) as OCIRepositoryObject) : undefined));
    console.log(`knative scenario 1: Component creation -> OCIRepository ${(performance.now() - t0).toFixed(0)} ms`);
    const snap = (await p.get('Snapshot', 'configuration-chart')) as SnapshotObject;
    expect(repo.spec).toMatchObject({ ref: { digest: snap.spec!.digest }, url: `oci://${p.registry.host}/${p.namespace}/configuration/chart` });
    for (const [kind, name] of [['Component', 'podinfo'], ['Resource', 'chart'], ['Configuration', 'chart'], ['Publication', 'chart']] as const) {
      expect(ready(await p.get(kind, name)), `${kind} ${name}`).toMatchObject({ status: 'True' });
    }
    // what reached the functions was Knative's: the ApiServerSource adapter's events, via ingress -> channel -> filter
    for (const stage of STAGES) {
      const seen = rig.taps[stage].deliveries.filter((d) => d.type.startsWith('dev.knative.apiserver.resource.'));
      expect(seen.length, stage).toBeGreaterThan(0);
      expect(new Set(seen.map((d) => d.source)), stage).toEqual(new Set([services().kube.server]));
    }
    expect(rig.deadLetter.received).toEqual([]);
  });

  it('replies go back into the Broker once, reach the Trigger that asks for them, and no stage', async () => {
    const replies = () => STAGES.flatMap((s) => rig.taps[s].deliveries.filter((d) => d.replyType));
    expect(replies().length).toBeGreaterThan(0);
    // every reply a function gave arrives at the reply Trigger's sink exactly once (by the time deliveries settle)
    await waitFor('the replies to reach the reply sink', () => rig.sinks.replies!.received.length >= replies().length || undefined, 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    const sent = replies().map((d) => d.replyType);
    const got = rig.sinks.replies!.received;
    expect(got.length).toBe(replies().length);
    expect(got.every((d) => d.type.startsWith(REPLY_PREFIX))).toBe(true);
    expect(new Set(got.map((d) => d.id)).size).toBe(got.length);
    expect(sent.every((t) => t?.startsWith(REPLY_PREFIX))).toBe(true);
    // and no stage ever got one back: the shipped Triggers only pass dev.knative.apiserver.* and the ping
    for (const stage of STAGES) expect(rig.taps[stage].deliveries.filter((d) => d.type.startsWith(REPLY_PREFIX)), stage).toEqual([]);
  });

  it('a Trigger\'s filter keeps foreign events away from the functions', async () => {
    const ns = rig.p.namespace;
    const event = (type: string, kind: string, extra: Record<string, string> = {}) => ({
      'ce-specversion': '1.0',
      'ce-id': randomUUID(),
      'ce-type': type,
      'ce-source': 'https://foreign.example',
      'ce-kind': kind,
      'ce-name': 'nothing-here',
      'ce-namespace': ns,
      'content-type': 'application/json',
      ...extra,
    });
    const foreign = [
      event('dev.knative.apiserver.resource.add', 'Deployment'), // a kind no Trigger takes
      event('com.example.component.created', 'Component'), // the right kind, a type outside dev.knative.apiserver.
      event(PING, 'Component', { 'ce-source': `/apis/v1/namespaces/${ns}/pingsources/someone-elses` }), // a ping, not our PingSource
    ];
    const control = event('dev.knative.apiserver.resource.update', 'Component');
    for (const e of [...foreign, control]) expect(await rig.publish(e, JSON.stringify({ apiVersion: 'serverless.ocm.software/v1alpha1', kind: e['ce-kind'], metadata: { name: 'nothing-here', namespace: ns } }))).toBe(202);
    await waitFor('the control event at the descriptor', () => rig.taps.descriptor.deliveries.some((d) => d.id === control['ce-id']) || undefined, 60_000);
    await new Promise((r) => setTimeout(r, 3000));
    const ids = new Set<string>(foreign.map((e) => e['ce-id']));
    for (const stage of STAGES) expect(rig.taps[stage].deliveries.filter((d) => ids.has(d.id)), stage).toEqual([]);
    // the control went to the one Trigger for (descriptor, Component) only
    expect(STAGES.filter((s) => rig.taps[s].deliveries.some((d) => d.id === control['ce-id']))).toEqual(['descriptor']);
  });

  it('a function answering 503 is retried with the Trigger\'s backoff (exponential from 1 s), then succeeds', async () => {
    const { p } = rig;
    rig.taps.publish.rule = (d, attempt) => (d.kind === 'Publication' && d.subject?.endsWith('/retry') && attempt <= 2 ? 503 : 'pass');
    try {
      await p.create('Publication', 'retry', { source: { kind: 'Configuration', name: 'chart' } });
      await waitFor('Publication retry Ready', async () => isReadyNow(await p.get('Publication', 'retry')) || undefined);
    } finally {
      rig.taps.publish.rule = () => 'pass';
    }
    const first = rig.taps.publish.deliveries.find((d) => d.kind === 'Publication' && d.subject?.endsWith('/retry'))!;
    // Ready can come first through another event for the object (a resync tick): wait for this event's third attempt
    const attempts = await waitFor('the third attempt of the first delivery', () => {
      const seen = rig.taps.publish.deliveries.filter((d) => d.id === first.id);
      return seen.length >= 3 ? seen : undefined;
    });
    expect(attempts.map((a) => a.status)).toEqual([503, 503, attempts[2]!.status]);
    expect(attempts[2]!.status).toBeLessThan(300);
    const gaps = [attempts[1]!.at - attempts[0]!.at, attempts[2]!.at - attempts[1]!.at];
    console.log(`knative retry gaps: ${gaps.map((g) => g.toFixed(0)).join(' ms, ')} ms (configured: exponential, backoffDelay PT1S)`);
    // backoffDelay * 2^n: 1 s, then 2 s (Knative waits at least that; a loaded machine adds to it)
    expect(gaps[0]).toBeGreaterThanOrEqual(950);
    expect(gaps[1]).toBeGreaterThanOrEqual(1950);
    expect(rig.deadLetter.received).toEqual([]);
  });

  it('a function that stays down: after 5 retries the dead-letter sink gets the event with Knative\'s error extensions', async () => {
    const { p } = rig;
    const isTarget = (d: Pick<Delivery, 'kind' | 'subject'>) => d.kind === 'Publication' && !!d.subject?.endsWith('/down');
    rig.taps.publish.rule = (d) => (isTarget(d) ? 503 : 'pass');
    try {
      await p.create('Publication', 'down', { source: { kind: 'Configuration', name: 'chart' } });
      const dead = await waitFor('the dead letter', () => rig.deadLetter.received.find((d) => isTarget(d)), 120_000);
      const attempts = rig.taps.publish.deliveries.filter((d) => d.id === dead.id);
      expect(attempts.map((a) => a.status)).toEqual([503, 503, 503, 503, 503, 503]);
      expect(dead.type).toBe('dev.knative.apiserver.resource.add');
      expect(dead.headers['ce-knativeerrorcode']).toBe('503');
      expect(dead.headers['ce-knativeerrordest']).toBe(`http://publish.${rig.system}.svc.cluster.local/`);
      expect(JSON.parse(dead.body)).toMatchObject({ kind: 'Publication', metadata: { name: 'down', namespace: p.namespace } });
    } finally {
      rig.taps.publish.rule = () => 'pass';
    }
  });

  it('a PingSource tick reaches all four stages', async () => {
    const source = `/apis/v1/namespaces/${rig.system}/pingsources/ocm-knative-resync`;
    // the test's PingSource fires every minute
    const ticks = await waitFor(
      'a ping at every stage',
      () => {
        const got = STAGES.map((s) => rig.taps[s].deliveries.find((d) => d.type === PING && d.status < 300));
        return got.every(Boolean) ? (got as Delivery[]) : undefined;
      },
      150_000,
    );
    for (const t of ticks) {
      expect(t.source).toBe(source);
      expect(JSON.parse(t.body)).toEqual({ reason: 'resync' });
      // the shipped Triggers match the tick by this extension: installed here in another namespace than the
      // manifests name, with nothing patched, the tick still reaches every stage
      expect(t.headers['ce-ocmknative']).toBe('resync');
    }
    expect(new Set(ticks.map((t) => t.id)).size).toBe(1);
  });
  it('duplicates and disorder: each first delivery is handled but its answer lost, Knative redelivers it while later events overtake it, and the chain ends as the clean one did', async () => {
    const { p } = rig;
    // the objects of this chain only (Resource mode's subject is the object's path, ending in its name)
    const ours = (d: Pick<Delivery, 'subject'>) => !!d.subject?.endsWith('-dup');
    for (const stage of STAGES) rig.taps[stage].rule = (d, attempt) => (ours(d) && attempt === 1 ? 'lose' : 'pass');
    const all = () => STAGES.flatMap((stage) => rig.taps[stage].deliveries.filter(ours).map((d) => ({ ...d, stage })));
    const redelivery = (l: Delivery & { stage: string }, a: Array<Delivery & { stage: string }>) =>
      a.find((r) => r.stage === l.stage && r.id === l.id && r.at > l.at && r.lostStatus === undefined);
    try {
      await p.create('Resource', 'chart-dup', { componentRef: { name: 'podinfo-dup' }, resource: { byReference: { resource: { name: 'chart' } } } });
      await p.create('Configuration', 'chart-dup', { target: { kind: 'Resource', name: 'chart-dup' }, rules: CHART_RULES });
      await p.create('Publication', 'chart-dup', { source: { kind: 'Configuration', name: 'chart-dup' } });
      await p.create('Component', 'podinfo-dup', { repositoryRef: { name: 'source' }, component: COMPONENT, semver: '>=1.0.0' });
      await waitFor('Publication chart-dup Ready', async () => isReadyNow(await p.get('Publication', 'chart-dup')) || undefined, 180_000);
      await waitFor('every lost answer redelivered', () => {
        const a = all();
        const lost = a.filter((d) => d.lostStatus !== undefined);
        return (lost.length > 0 && lost.every((l) => redelivery(l, a)?.status !== undefined && redelivery(l, a)!.status < 300)) || undefined;
      }, 90_000);
    } finally {
      for (const stage of STAGES) rig.taps[stage].rule = () => 'pass';
    }
    const a = all();
    const lost = a.filter((d) => d.lostStatus !== undefined);
    console.log(`knative duplicates: ${a.length} deliveries, ${lost.length} answers lost and redelivered (${STAGES.map((s) => `${s} ${lost.filter((l) => l.stage === s).length}`).join(', ')})`);
    // every stage handled duplicates: the function saw each of those events twice
    for (const stage of STAGES) expect(lost.filter((l) => l.stage === stage).length, stage).toBeGreaterThan(0);
    // and out of order: another event reached a function between a lost answer and its redelivery
    const overtaken = lost.filter((l) => a.some((x) => x.id !== l.id && x.at > l.at && x.at < redelivery(l, a)!.at));
    expect(overtaken.length).toBeGreaterThan(0);

    // the end state is the clean chain's: one Ready Snapshot per producer, with the same content, one tag each
    const reg = await zotAccess();
    for (const [dup, clean] of [['component-podinfo-dup', 'component-podinfo'], ['resource-chart-dup', 'resource-chart'], ['configuration-chart-dup', 'configuration-chart']] as const) {
      const snap = (await p.get('Snapshot', dup)) as SnapshotObject;
      expect(ready(snap), dup).toMatchObject({ status: 'True' });
      expect(snap.metadata.ownerReferences?.filter((r) => r.controller), dup).toHaveLength(1);
      expect(snap.spec!.blob.digest, `${dup}: the layer the clean chain made`).toBe(((await p.get('Snapshot', clean)) as SnapshotObject).spec!.blob.digest);
      const tags = (await registryContents(reg, [snap.spec!.repository]))[snap.spec!.repository]!;
      expect(Object.values(tags), `${dup}: one tag, the Snapshot's manifest`).toEqual([snap.spec!.digest]);
    }
    const repo = (await p.getOCIRepository('chart-dup')) as OCIRepositoryObject;
    expect(repo.spec!.ref.digest).toBe(((await p.get('Snapshot', 'configuration-chart-dup')) as SnapshotObject).spec!.digest);
    for (const [kind, name] of [['Component', 'podinfo-dup'], ['Resource', 'chart-dup'], ['Configuration', 'chart-dup'], ['Publication', 'chart-dup']] as const) {
      expect(ready(await p.get(kind, name)), `${kind} ${name}`).toMatchObject({ status: 'True' });
    }
    expect(rig.deadLetter.received.filter(ours)).toEqual([]);
  });
});
