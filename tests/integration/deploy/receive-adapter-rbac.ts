/**
 * Runs Knative's own ApiServerSource receive adapter (built by tests/infra when possible) as the
 * ocm-knative-apiserversource ServiceAccount, configured through its environment the way the
 * ApiServerSource controller configures its Deployment, sending to a local sink that records the
 * CloudEvents (binary mode headers). The process itself is started by tests/e2e/stages/receive-adapter.ts.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startReceiveAdapter } from '../../infra/receive-adapter.js';
import { SYSTEM_NAMESPACE } from './rbac-fixture.js';

export interface ReceivedEvent {
  type: string;
  kind: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  source: string | undefined;
}

export interface RunningAdapter {
  events: ReceivedEvent[];
  log(): Promise<string>;
  stop(): Promise<void>;
}

export async function startAdapterAs(bin: string, kubeconfig: string, namespaces: string[]): Promise<RunningAdapter> {
  const events: ReceivedEvent[] = [];
  const sink: Server = createServer((req, res) => {
    const h = (k: string) => {
      const v = req.headers[k];
      return Array.isArray(v) ? v[0] : v;
    };
    req.resume();
    req.on('end', () => {
      events.push({ type: h('ce-type') ?? '', kind: h('ce-kind'), namespace: h('ce-namespace'), name: h('ce-name'), source: h('ce-source') });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const port = (sink.address() as AddressInfo).port;
  const adapter = startReceiveAdapter(bin, SYSTEM_NAMESPACE, `http://127.0.0.1:${port}/`, { namespaces, kubeconfig, name: 'ocm-knative' });
  return {
    events,
    log: () => readFile(adapter.logFile, 'utf8'),
    async stop() {
      await adapter.stop();
      await new Promise((r) => sink.close(r));
    },
  };
}
