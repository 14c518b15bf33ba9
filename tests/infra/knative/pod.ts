/**
 * Starts one "pod": a Knative binary in its own network and mount namespace, with lo up, a private
 * /etc/resolv.conf naming the pod agent's DNS, and the pod agent (pod-agent.mjs) relaying the cluster network
 * (see network.ts). The returned process is the binary itself (the launch shell execs it), so stopping it by
 * PID stops the pod; the agent leaves when it sees the binary gone, and the namespaces go with their last
 * process (nothing named, nothing to clean up after a crash).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemTool } from '../binaries.js';
import { startProcess, type RunningProcess } from '../process.js';
import type { ClusterNetwork } from './network.js';

const AGENT = fileURLToPath(new URL('./pod-agent.mjs', import.meta.url));

// $1 agent config, $2 ready file, $3 resolv.conf, $4 node, $5 agent script, then the binary and its args.
// The agent must be listening (API relay, DNS) before the binary starts: Knative's mains exit when their first
// API call fails.
const LAUNCH = `set -e
ip link set lo up
mount --bind "$3" /etc/resolv.conf
"$4" "$5" "$1" &
agent=$!
i=0
while [ ! -e "$2" ]; do
  kill -0 "$agent" 2>/dev/null || { echo "pod agent exited" >&2; exit 97; }
  i=$((i+1)); [ "$i" -lt 600 ] || { echo "pod agent not ready after 30s" >&2; exit 98; }
  sleep 0.05
done
shift 5
exec "$@"`;

export interface PodSpec {
  /** unique per run; names the pod's socket folder and log */
  name: string;
  namespace: string;
  binary: string;
  args: string[];
  env: Record<string, string>;
  /** the container's ports, exposed to the harness and to Services */
  ports: number[];
  logDir: string;
}

export function startPod(net: ClusterNetwork, spec: PodSpec): RunningProcess {
  const config = net.podAgentConfig(spec.name, spec.ports);
  const dir = net.podDir(spec.name);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'agent.json');
  writeFileSync(configFile, JSON.stringify(config));
  const resolv = join(dir, 'resolv.conf');
  // what a pod in `namespace` gets from the kubelet (ClusterFirst)
  writeFileSync(
    resolv,
    `nameserver 127.0.0.53\nsearch ${spec.namespace}.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n`,
  );
  return startProcess({
    name: spec.name,
    command: systemTool('unshare'),
    args: ['--net', '--mount', '--', 'sh', '-c', LAUNCH, 'pod', configFile, config.readyFile, resolv, process.execPath, AGENT, spec.binary, ...spec.args],
    // a pod's environment is its container's, nothing inherited from the test process (no proxies, no KUBECONFIG)
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...spec.env },
    logFile: join(spec.logDir, `${spec.name}.log`),
  });
}
