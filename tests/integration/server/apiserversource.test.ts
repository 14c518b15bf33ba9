/**
 * Real events, not our idea of them: Knative's own ApiServerSource receive adapter (built by tests/infra)
 * watches ConfigMaps in the test API server, in Resource and in Reference mode, and sends to the real
 * function host. Checks that every event parses (no 4xx), normalises to the right hint, and that our
 * `apiServerSourceEvent` builder produces the same attributes and extensions as the adapter.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiServerSourceEvent, type CloudEvent, type KubeEventHint, type KubeObjectLike } from '../../../shared/cloudevents/index.js';
import { createLogger } from '../../../shared/log/index.js';
import { createFunctionServer, type FunctionServer } from '../../../shared/server/index.js';
import { startReceiveAdapter, type ReceiveAdapter } from '../../infra/receive-adapter.js';
import { services } from '../../infra/services.js';
import { waitFor } from '../../support/wait.js';

interface Received {
  hint: KubeEventHint;
  event: CloudEvent<unknown>;
}

const adapterBin = services().bin.apiserverReceiveAdapter;

function kubectl(...args: string[]): string {
  const { kube, bin } = services();
  const r = spawnSync(bin.kubectl, ['--kubeconfig', kube.kubeconfig, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

if (adapterBin) {
  describe('events from the real ApiServerSource receive adapter', () => {
    const received: Received[] = [];
    const namespace = `host-src-${Date.now().toString(36)}`;
    const adapters: ReceiveAdapter[] = [];
    let server: FunctionServer;

    beforeAll(async () => {
      kubectl('create', 'namespace', namespace);
      server = createFunctionServer({
        stage: 'adapter-test',
        config: { BODY_LIMIT: 5 * 1024 * 1024, SHUTDOWN_TIMEOUT: 5000, REPLY_EVENTS: true, PROCESS_METRICS: false },
        logger: createLogger({ level: 'silent' }),
        handle: async (hint, ctx) => {
          received.push({ hint, event: ctx.event });
          return { result: 'done' };
        },
      });
      const { port } = await server.listen(0, '127.0.0.1');
      await server.loaded();
      const sink = `http://127.0.0.1:${port}/`;
      for (const mode of ['Resource', 'Reference'] as const) {
        adapters.push(
          startReceiveAdapter(adapterBin, namespace, sink, { name: `host-test-${mode.toLowerCase()}`, mode, resources: [{ group: '', version: 'v1', resource: 'configmaps' }] }),
        );
      }
      // Nothing is emitted for objects that exist before the watch starts: create probes until both report.
      let n = 0;
      const seen = (prefix: string) => received.some((r) => r.event.type.startsWith(prefix) && r.hint.type !== 'resync' && r.hint.name.startsWith('probe-'));
      const deadline = Date.now() + 60_000;
      while (!(seen('dev.knative.apiserver.resource.') && seen('dev.knative.apiserver.ref.'))) {
        if (Date.now() > deadline) throw new Error(`adapters sent nothing; log tails:\n${adapters.map((a) => a.logTail()).join('\n')}`);
        kubectl('-n', namespace, 'create', 'configmap', `probe-${n++}`, '--from-literal=a=b');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }, 120_000);

    afterAll(async () => {
      await Promise.all(adapters.map((a) => a.stop()));
      await server?.close();
      try {
        kubectl('delete', 'namespace', namespace, '--wait=false');
      } catch {
        /* best effort */
      }
    });

    it('add, update and delete arrive in both modes, parse, and normalise to the right hints', async () => {
      kubectl('-n', namespace, 'create', 'configmap', 'subject', '--from-literal=k=v1');
      kubectl('-n', namespace, 'label', 'configmap', 'subject', 'step=two');
      kubectl('-n', namespace, 'delete', 'configmap', 'subject');
      const forSubject = (type: string) => received.filter((r) => r.event.type === type && r.hint.type !== 'resync' && r.hint.name === 'subject');
      for (const mode of ['resource', 'ref']) {
        for (const op of ['add', 'update', 'delete']) {
          await waitFor(`${mode}.${op} for configmap/subject`, () => forSubject(`dev.knative.apiserver.${mode}.${op}`).length > 0, 45_000);
        }
      }
      const uid = (forSubject('dev.knative.apiserver.resource.add')[0]!.hint as { uid?: string }).uid;
      expect(uid).toMatch(/^[0-9a-f-]{36}$/);
      for (const op of ['add', 'update', 'delete'] as const) {
        const res = forSubject(`dev.knative.apiserver.resource.${op}`)[0]!;
        expect(res.hint).toMatchObject({ type: op, origin: 'apiserver-resource', apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'subject', uid, source: services().kube.server });
        expect((res.hint as { object?: KubeObjectLike }).object?.metadata.name).toBe('subject');
        const ref = forSubject(`dev.knative.apiserver.ref.${op}`)[0]!;
        expect(ref.hint).toMatchObject({ type: op, origin: 'apiserver-reference', apiVersion: 'v1', kind: 'ConfigMap', namespace, name: 'subject' });
        expect((ref.hint as { object?: unknown }).object).toBeUndefined();
      }
      // Every delivery from the adapters was accepted by the host (a 4xx would show up here).
      const text = await (await server.loaded()).metrics.render();
      expect(text).not.toMatch(/ocm_knative_events_total\{type="invalid"/);
    });

    it('our builder reproduces the adapter\'s attributes and extensions', () => {
      for (const mode of ['Resource', 'Reference'] as const) {
        const prefix = mode === 'Resource' ? 'dev.knative.apiserver.resource.' : 'dev.knative.apiserver.ref.';
        const real = received.find((r) => r.event.type === `${prefix}update` && r.hint.type !== 'resync' && r.hint.name === 'subject')!.event;
        const object = (received.find((r) => r.event.type === 'dev.knative.apiserver.resource.update' && r.hint.type !== 'resync' && r.hint.name === 'subject')!.event
          .data as KubeObjectLike);
        const ours = apiServerSourceEvent({ mode, op: 'update', object, source: real.source });
        const attrs = (e: CloudEvent<unknown>) => {
          const { id: _id, time: _time, data: _data, ...rest } = e.toJSON() as Record<string, unknown>;
          return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
        };
        expect(attrs(ours)).toEqual(attrs(real));
        if (mode === 'Reference') expect(ours.data).toEqual(real.data);
      }
    });
  });
}
