/**
 * Runs Knative's own ApiServerSource receive adapter (built by tests/infra when possible) as the
 * ocm-knative-apiserversource ServiceAccount, configured through its environment the way the
 * ApiServerSource controller configures its Deployment, sending to a local sink that records the
 * CloudEvents (binary mode headers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { services } from '../../infra/services.js';
import { SYSTEM_NAMESPACE } from './rbac-fixture.js';
import { PLURALS } from '../../../shared/kube/index.js';
import { stopChild } from '../../infra/process.js';

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
  const logFile = join(services().workDir, `receive-adapter-rbac-${Date.now().toString(36)}.log`);
  const out = createWriteStream(logFile);
  const config = {
    namespaces,
    allNamespaces: false,
    resources: Object.values(PLURALS).map((plural) => ({ gvr: { Group: 'serverless.ocm.software', Version: 'v1alpha1', Resource: plural } })),
    mode: 'Resource',
  };
  const child: ChildProcess = spawn(bin, ['--disable-ha'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KUBECONFIG: kubeconfig,
      K_SINK: `http://127.0.0.1:${port}/`,
      K_SOURCE_CONFIG: JSON.stringify(config),
      NAME: 'ocm-knative',
      NAMESPACE: SYSTEM_NAMESPACE,
      SYSTEM_NAMESPACE: 'knative-eventing',
      K_LOGGING_CONFIG: '{}',
      K_OBSERVABILITY_CONFIG: '{}',
      METRICS_DOMAIN: 'knative.dev/eventing',
      NO_PROXY: '127.0.0.1,localhost',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return {
    events,
    log: () => readFile(logFile, 'utf8'),
    async stop() {
      await stopChild(child, 3000);
      out.end();
      await new Promise((r) => sink.close(r));
    },
  };
}
