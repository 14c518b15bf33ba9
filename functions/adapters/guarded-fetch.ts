/**
 * `fetch` for Helm chart repositories whose every socket is checked by the egress policy (redirects open new
 * sockets through the same connector, so they are checked too). undici's fetch is loaded only when a Helm
 * repository is actually read: its index pulls in every undici feature (bench/README.md, start-up).
 */
import type { Agent } from 'undici';
import { guardedConnector, type ConnectGuard } from '../../shared/oci/index.js';

export interface GuardedFetch {
  fetch: typeof fetch;
  close(): Promise<void>;
}

export function guardedFetch(guard: ConnectGuard, timeoutMs = 10_000): GuardedFetch {
  let agent: Agent | undefined;
  const call = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
    const undici = await import('undici');
    agent ??= new undici.Agent({ connect: guardedConnector(guard, { timeout: timeoutMs }) });
    // undici's Response is the class Node's global fetch returns too (Node bundles undici); only the types differ
    const url = input instanceof Request ? input.url : input;
    return (await undici.fetch(url, { ...(init as object), dispatcher: agent })) as unknown as Response;
  };
  return {
    fetch: call as typeof fetch,
    close: async () => {
      await agent?.close();
    },
  };
}
