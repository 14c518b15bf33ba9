/**
 * Bench-only experiment, loaded with `node --import tsx --import ./bench/pipeline/keepalive-preload.ts`: makes
 * @kubernetes/client-node 1.4 reuse one keep-alive https.Agent per (server, TLS options) instead of building a new
 * Agent (new TLS session, new SecureContext with the CA parsed again) for every API request, which is what its
 * KubeConfig.applySecurityAuthentication -> createAgent does. Nothing else changes: same requests, same answers.
 * Used by throughput.ts --keepalive to measure what that fix would give the functions.
 */
import type { Agent } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

type CreateAgent = (cluster: { server: string } | null, agentOptions: Record<string, unknown>) => Agent;
// createAgent is internal to client-node (not in its public types): reach it through the prototype
const proto = KubeConfig.prototype as unknown as { createAgent: CreateAgent };
const original = proto.createAgent;
const agents = new Map<string, Agent>();

proto.createAgent = function createAgent(this: KubeConfig, cluster, agentOptions) {
  const key = JSON.stringify([cluster?.server ?? '', Object.entries(agentOptions).map(([k, v]) => [k, String(v)])]);
  let agent = agents.get(key);
  if (!agent) {
    agent = original.call(this, cluster, { ...agentOptions, keepAlive: true });
    agents.set(key, agent);
  }
  return agent;
};
