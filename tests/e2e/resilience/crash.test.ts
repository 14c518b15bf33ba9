/**
 * Crash (issue 9): the resource function is SIGKILLed while it pushes a 64 MiB layer (its registry traffic goes
 * through a FaultProxy without faults, which counts the bytes and pulls the trigger after 8 MiB), started again
 * on the same port, and the broker's retry redelivers the event. While it is down and after it completes, no
 * Ready Snapshot may point at content the registry does not have.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotObject } from '../../../shared/ports/index.js';
import { services } from '../../infra/services.js';
import { isReady } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import type { ChaosBroker } from './broker.js';
import { Cluster, verifyReadySnapshots } from './cluster.js';
import { FaultProxy } from './fault-proxy.js';
import { FunctionProcess } from './functions.js';
import { bigBlobSource, createBigBlobPipeline, logDir, watchNamespace, zotAccess } from './rig.js';

const BIG = 64 * 1024 * 1024;
const KILL_AFTER = 8 * 1024 * 1024;

describe('resilience: a function killed mid-push', () => {
  let descriptor: FunctionProcess;
  let resource: FunctionProcess;
  let proxy: FaultProxy;
  let broker: ChaosBroker | undefined;
  let killed: Promise<void> | undefined;
  let bytesAtKill = 0;

  beforeAll(async () => {
    const s = services();
    const dir = await logDir('crash');
    const zot = s.registry.zot;
    const reg = new URL(zot.url);
    // TLS passes through unopened (no faults here, only the byte count); zot's cert names 127.0.0.1, whatever the port
    proxy = await FaultProxy.start({
      target: { host: reg.hostname, port: Number(reg.port) },
      onUpstreamBytes: (total) => {
        if (!killed && total > KILL_AFTER) {
          bytesAtKill = total;
          killed = resource.kill('SIGKILL');
        }
      },
    });
    const env = {
      KUBECONFIG: s.kube.kubeconfig,
      INSECURE_REGISTRIES: s.registry.fs.host,
      REGISTRY_PUBLIC_HOST: zot.host,
      REGISTRY_CA_FILE: zot.caFile,
      REGISTRY_USERNAME: zot.push.username,
      REGISTRY_PASSWORD: zot.push.password,
    };
    [descriptor, resource] = await Promise.all([
      FunctionProcess.start('descriptor', { ...env, REGISTRY_URL: zot.url }, dir),
      FunctionProcess.start('resource', { ...env, REGISTRY_URL: `https://${proxy.host}` }, dir),
    ]);
  });
  afterAll(async () => {
    await broker?.stop();
    await Promise.all([descriptor?.stop(), resource?.stop()]);
    await proxy?.close();
  });

  it('SIGKILL during a 64 MiB push, restart, redelivery: completes, and no Ready Snapshot points at missing content', async () => {
    const zot = services().registry.zot;
    const reg = await zotAccess(zot);
    const base = await bigBlobSource('crash-src', BIG);

    const c = await Cluster.create();
    broker = await watchNamespace(
      c,
      { descriptor, resource },
      { copies: 1, concurrency: 4, holdMs: 0, retries: 10, backoffMs: 250, maxBackoffMs: 4000, seed: 5 },
    );
    await createBigBlobPipeline(c, base);

    const t0 = performance.now();
    await waitFor('the resource function to be killed mid-push', async () => killed !== undefined, 120_000);
    await killed;
    const killedAt = performance.now();
    expect(resource.running).toBe(false);
    // while it is down: whatever is Ready is complete in the registry
    const during = await verifyReadySnapshots(c, reg);
    expect(during.problems).toEqual([]);
    const snapDuring = await c.get('Snapshot', 'resource-big');
    expect(isReady(snapDuring), 'resource-big must not be Ready before its push finished').toBe(false);

    await resource.restart();
    broker.ping();
    const snap = (await waitFor(
      'Resource big Ready after the restart',
      async () => (isReady(await c.get('Resource', 'big')) ? c.get('Snapshot', 'resource-big') : undefined),
      180_000,
    )) as SnapshotObject;
    const doneAt = performance.now();
    await broker.settle(500, 60_000);

    const after = await verifyReadySnapshots(c, reg);
    console.log(
      `crash: killed after ${(bytesAtKill / 1048576).toFixed(1)} MiB pushed, ${((killedAt - t0) / 1000).toFixed(1)} s after the objects were created; ` +
        `Ready ${((doneAt - killedAt) / 1000).toFixed(1)} s after the kill; layer ${snap.spec!.blob.size} bytes; ` +
        `proxy ${JSON.stringify(proxy.stats)}; verified ${after.checked} Ready Snapshots`,
    );
    expect(after.problems).toEqual([]);
    expect(after.checked).toBe(2);
    expect(isReady(snap)).toBe(true);
    // the pushed layer holds the whole 64 MiB (wrapped in tar+gzip; random bytes do not compress)
    expect(snap.spec!.blob.size).toBeGreaterThan(BIG);
    expect(resource.restarts).toBe(1);
    expect(broker.dead).toEqual([]);
  });
});
