/**
 * Knative's own ApiServerSource receive adapter (knative.dev/eventing cmd/apiserver_receive_adapter), run against
 * the test API server and configured through its environment the way the ApiServerSource controller configures
 * its Deployment (K_SOURCE_CONFIG, K_SINK, NAME, NAMESPACE, ...). By default: mode Resource, our six kinds, one
 * namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { GROUP, PLURALS, VERSION } from '../../shared/kube/index.js';
import { logTail, stopChild } from './process.js';
import { services } from './services.js';

export interface ReceiveAdapter {
  process: ChildProcess;
  logFile: string;
  /** the last lines of its log, for a failure message */
  logTail(): string;
  stop(): Promise<void>;
}

export interface ReceiveAdapterOptions {
  /** the namespaces it watches (default: the source's own) */
  namespaces?: string[];
  /** whose credentials it uses (default: the test API server's admin kubeconfig) */
  kubeconfig?: string;
  /** the ApiServerSource's name (default ocm-knative-events) */
  name?: string;
  /** the ApiServerSource's mode (default Resource) */
  mode?: 'Resource' | 'Reference';
  /** what it watches (default: our kinds) */
  resources?: Array<{ group: string; version: string; resource: string }>;
}

/** `namespace` is where the ApiServerSource lives; it watches `opts.namespaces`, or that namespace. */
export function startReceiveAdapter(bin: string, namespace: string, sink: string, opts: ReceiveAdapterOptions = {}): ReceiveAdapter {
  const s = services();
  const name = opts.name ?? 'ocm-knative-events';
  const config = {
    namespaces: opts.namespaces ?? [namespace],
    allNamespaces: false,
    resources: (opts.resources ?? Object.values(PLURALS).map((resource) => ({ group: GROUP, version: VERSION, resource }))).map((r) => ({
      gvr: { Group: r.group, Version: r.version, Resource: r.resource },
    })),
    mode: opts.mode ?? 'Resource',
  };
  const logFile = join(s.workDir, `receive-adapter-${name}-${namespace}-${Date.now().toString(36)}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(bin, ['--disable-ha'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KUBECONFIG: opts.kubeconfig ?? s.kube.kubeconfig,
      K_SINK: sink,
      K_SOURCE_CONFIG: JSON.stringify(config),
      NAME: name,
      NAMESPACE: namespace,
      SYSTEM_NAMESPACE: 'knative-eventing',
      K_LOGGING_CONFIG: '{}',
      K_OBSERVABILITY_CONFIG: '{}',
      METRICS_DOMAIN: 'knative.dev/eventing',
      NO_PROXY: '127.0.0.1,localhost',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return {
    process: child,
    logFile,
    logTail: () => logTail(logFile),
    async stop() {
      await stopChild(child, 3000);
      log.end();
    },
  };
}
