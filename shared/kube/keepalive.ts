/**
 * client-node 1.4 builds a fresh https.Agent for every API request (KubeConfig.applySecurityAuthentication), so
 * every call pays a TLS handshake and re-parses the CA: measured at 3.5-4.6 ms of CPU per request, which made a no-op
 * event cost two handshakes (bench/README.md "Event throughput"). This KubeConfig keeps one keep-alive Agent per TLS
 * identity instead. Credentials that live in headers (tokens, including rotated service-account tokens) are still
 * applied per request by the base class; a changed client certificate or CA gives a new Agent.
 */
import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

export class KeepAliveKubeConfig extends KubeConfig {
  private agent?: { key: string; agent: Agent };

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getAgent();
    // Proxy agents (cluster.proxyUrl) are their own classes: leave them as the library made them.
    if (!(fresh instanceof Agent) || fresh.constructor !== Agent) return;
    const o = fresh.options;
    const key = createHash('sha256')
      .update(JSON.stringify([this.getCurrentCluster()?.server, o.servername, o.rejectUnauthorized, o.passphrase]))
      .update(String(o.ca ?? ''))
      .update(String(o.cert ?? ''))
      .update(String(o.key ?? ''))
      .update(String(o.pfx ?? ''))
      .digest('hex');
    if (this.agent?.key !== key) {
      this.agent?.agent.destroy();
      this.agent = { key, agent: new Agent({ ...o, keepAlive: true }) };
    }
    context.setAgent(this.agent.agent);
  }
}
