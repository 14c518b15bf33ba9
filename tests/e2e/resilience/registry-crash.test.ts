/**
 * The registry killed mid-push (issue 16): zot on S3 (its own instance, the shipped config) is SIGKILLed while the
 * resource function pushes a 64 MiB layer (the traffic passes a FaultProxy without faults, which counts the bytes
 * and pulls the trigger after 8 MiB), then started again on the same port and bucket prefix. The broker's retries
 * and a resync tick bring the push through. No Ready Snapshot may point at content zot does not serve, neither
 * while it is down nor after.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SnapshotObject } from '../../../shared/ports/index.js';
import { goTool } from '../../infra/binaries.js';
import { services } from '../../infra/services.js';
import { startZot, type RunningZot, type StartZotOptions } from '../../infra/zot.js';
import { isReady } from '../../support/ready.js';
import { waitFor } from '../../support/wait.js';
import type { ChaosBroker } from './broker.js';
import { Cluster, verifyReadySnapshots } from './cluster.js';
import { FaultProxy } from './fault-proxy.js';
import { FunctionProcess } from './functions.js';
import { bigBlobSource, createBigBlobPipeline, logDir, watchNamespace, zotAccess } from './rig.js';

const BIG = 64 * 1024 * 1024;
const KILL_AFTER = 8 * 1024 * 1024;

describe('resilience: zot SIGKILLed mid-push', () => {
  let zot: RunningZot | undefined;
  let zotOptions: StartZotOptions;
  let descriptor: FunctionProcess;
  let resource: FunctionProcess;
  let proxy: FaultProxy;
  let broker: ChaosBroker | undefined;
  let killed: Promise<void> | undefined;
  let bytesAtKill = 0;

  beforeAll(async () => {
    const s = services();
    const dir = await logDir('registry-crash');
    const id = randomBytes(3).toString('hex');
    zotOptions = { bin: goTool('zot'), workDir: dir, ca: s.ca, s3: s.s3, name: `zot-crash-${id}`, rootDirectory: `/zot-crash-${id}` };
    zot = await startZot(zotOptions);
    const running = zot;
    const reg = new URL(running.endpoint.url);
    // TLS passes through unopened: only the byte count matters here
    proxy = await FaultProxy.start({
      target: { host: reg.hostname, port: Number(reg.port) },
      onUpstreamBytes: (total) => {
        if (!killed && total > KILL_AFTER) {
          bytesAtKill = total;
          process.kill(running.proc.pid, 'SIGKILL');
          killed = running.proc.exited;
        }
      },
    });
    const env = {
      KUBECONFIG: s.kube.kubeconfig,
      INSECURE_REGISTRIES: s.registry.fs.host,
      REGISTRY_PUBLIC_HOST: running.endpoint.host,
      REGISTRY_CA_FILE: running.endpoint.caFile,
      REGISTRY_USERNAME: running.endpoint.push.username,
      REGISTRY_PASSWORD: running.endpoint.push.password,
    };
    [descriptor, resource] = await Promise.all([
      FunctionProcess.start('descriptor', { ...env, REGISTRY_URL: running.endpoint.url }, dir),
      FunctionProcess.start('resource', { ...env, REGISTRY_URL: `https://${proxy.host}` }, dir),
    ]);
  });
  afterAll(async () => {
    await broker?.stop();
    await Promise.all([descriptor?.stop(), resource?.stop()]);
    await proxy?.close();
    await zot?.stop();
  });

  it('SIGKILL of zot during a 64 MiB push, restart on the same bucket: completes, no Ready Snapshot points at missing content', async () => {
    const first = zot!.endpoint;
    const reg = await zotAccess(first);
    const base = await bigBlobSource('registry-crash-src', BIG);

    const c = await Cluster.create();
    broker = await watchNamespace(
      c,
      { descriptor, resource },
      { copies: 1, concurrency: 4, holdMs: 0, retries: 10, backoffMs: 250, maxBackoffMs: 4000, seed: 7 },
    );
    await createBigBlobPipeline(c, base);

    const t0 = performance.now();
    await waitFor('zot to be killed mid-push', async () => killed !== undefined, 120_000);
    await killed;
    const killedAt = performance.now();
    const snapDuring = await c.get('Snapshot', 'resource-big');
    expect(isReady(snapDuring), 'resource-big must not be Ready before its push finished').toBe(false);

    // same port, bucket prefix and passwords: what a pod restart looks like to the functions
    zot = await startZot({ ...zotOptions, port: Number(new URL(first.url).port), passwords: { push: first.push.password, read: first.read.password } });
    const restartedAt = performance.now();
    // what was Ready before the kill (the Component's Snapshot) is still served after the restart
    const before = await verifyReadySnapshots(c, reg);
    expect(before.problems).toEqual([]);
    // the PingSource resync picks up what the broker gave up on while zot was down
    broker.ping();
    const ticker = setInterval(() => broker?.ping(), 3000);
    const snap = (await waitFor('Resource big Ready after the restart', async () => (isReady(await c.get('Resource', 'big')) ? c.get('Snapshot', 'resource-big') : undefined), 240_000)
      .finally(() => clearInterval(ticker))) as SnapshotObject;
    const doneAt = performance.now();
    await broker.settle(500, 60_000);

    const after = await verifyReadySnapshots(c, reg);
    console.log(
      `registry-crash: zot killed after ${(bytesAtKill / 1048576).toFixed(1)} MiB pushed, ${((killedAt - t0) / 1000).toFixed(1)} s after the objects were created; ` +
        `zot back ${((restartedAt - killedAt) / 1000).toFixed(1)} s after the kill; Resource Ready ${((doneAt - restartedAt) / 1000).toFixed(1)} s after that; ` +
        `layer ${snap.spec!.blob.size} bytes; proxy ${JSON.stringify(proxy.stats)}; verified ${after.checked} Ready Snapshots`,
    );
    expect(after.problems).toEqual([]);
    expect(after.checked).toBe(2);
    expect(snap.spec!.blob.size).toBeGreaterThan(BIG);
    expect(broker.dead).toEqual([]);
    for (const f of [descriptor, resource]) expect(f.running, `${f.stage} still running`).toBe(true);
  });
});
