/**
 * The deployment decisions, checked on the rendered manifests (what `kubectl apply -k` would send):
 * scale to zero, trigger chain and delivery, timeouts, webhook availability, least-privilege RBAC,
 * one zot replica, images. Runs without services; the dry-run test checks the same output against
 * the real API server.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stageConfigSchema } from '../../../functions/adapters/wiring.js';
import { STAGES as BUILD_STAGES } from '../../../functions/build.js';
import { serverConfigSchema } from '../../../shared/server/config.js';
import { byKind, isoSeconds, render, repoRoot, type K8sObject } from './manifests.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- walking arbitrary rendered YAML; every access is asserted. */
type Obj = K8sObject & Record<string, any>;

const STAGES = ['descriptor', 'resource', 'configure', 'publish'] as const;
/** docs/design.md §4 chain: which kinds wake which stage (each stage's routes() in functions/<stage>/handler.ts). */
const CHAIN: Record<(typeof STAGES)[number], string[]> = {
  descriptor: ['OCMRepository', 'Component', 'Snapshot'],
  resource: ['Resource', 'Snapshot'],
  configure: ['Configuration', 'Snapshot'],
  publish: ['Publication', 'Snapshot'],
};
const RESERVED_ENV = ['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'];

let knative: Obj[];
let registry: Obj[];
let tenant: Obj[];

beforeAll(async () => {
  knative = (await render('knative')).objects as Obj[];
  registry = (await render('registry')).objects as Obj[];
  tenant = (await render('knative/tenant')).objects as Obj[];
});

const kservices = () => byKind(knative, 'Service', 'serving.knative.dev/v1') as Obj[];
const kservice = (name: string) => kservices().find((s) => s.metadata.name === name);
const ourCrds = () =>
  (byKind(knative, 'CustomResourceDefinition') as Obj[]).filter((c) => c.spec.group === 'serverless.ocm.software');

describe('Knative Services', () => {
  it('one per stage, scale to zero, bounded scale-out, cluster-local', () => {
    for (const stage of STAGES) {
      const svc = kservice(stage);
      expect(svc, stage).toBeDefined();
      const ann = svc!.spec.template.metadata.annotations;
      expect(ann['autoscaling.knative.dev/min-scale']).toBe('0');
      expect(ann['autoscaling.knative.dev/class']).toBe('kpa.autoscaling.knative.dev');
      const max = Number(ann['autoscaling.knative.dev/max-scale']);
      expect(max).toBeGreaterThanOrEqual(1);
      expect(max).toBeLessThanOrEqual(50);
      const target = Number(ann['autoscaling.knative.dev/target']);
      expect(target).toBeGreaterThanOrEqual(1);
      expect(target).toBeLessThanOrEqual(svc!.spec.template.spec.containerConcurrency);
      expect(svc!.metadata.labels?.['networking.knative.dev/visibility']).toBe('cluster-local');
    }
  });

  it('timeouts, probes, resources, non-root read-only containers, no reserved env', () => {
    const sas = new Set(byKind(knative, 'ServiceAccount').map((s) => s.metadata.name));
    for (const svc of kservices()) {
      const spec = svc.spec.template.spec;
      const name = svc.metadata.name;
      expect(spec.timeoutSeconds, name).toBeGreaterThan(0);
      expect(spec.timeoutSeconds, name).toBeLessThanOrEqual(600); // max-revision-timeout-seconds default
      expect(sas.has(spec.serviceAccountName), `${name} SA ${spec.serviceAccountName}`).toBe(true);
      expect(spec.containers).toHaveLength(1);
      const c = spec.containers[0];
      expect(c.ports?.length ?? 0, name).toBeLessThanOrEqual(1); // runtime contract: at most one port
      expect(c.resources.limits.memory, name).toBeDefined();
      expect(c.resources.requests.cpu, name).toBeDefined();
      expect(c.securityContext.readOnlyRootFilesystem, name).toBe(true);
      expect(c.securityContext.runAsNonRoot, name).toBe(true);
      expect(c.securityContext.allowPrivilegeEscalation, name).toBe(false);
      for (const e of c.env ?? []) expect(RESERVED_ENV, `${name} sets reserved ${e.name}`).not.toContain(e.name);
      if ((STAGES as readonly string[]).includes(name)) {
        expect(c.readinessProbe.httpGet.path).toBe('/readyz');
        expect(c.readinessProbe.initialDelaySeconds ?? 0).toBe(0);
        expect(c.livenessProbe.httpGet.path).toBe('/healthz');
        expect(c.volumeMounts.map((m: any) => m.mountPath)).toContain('/tmp');
        expect(c.envFrom[0].configMapRef.name).toBe('ocm-knative-config');
      }
    }
  });

  it('env config: registry URL and CA file from the ConfigMap, credentials from a Secret, no unused names', () => {
    const cm = (byKind(knative, 'ConfigMap') as Obj[]).find((c) => c.metadata.name === 'ocm-knative-config')!;
    expect(cm.data.REGISTRY_URL).toMatch(/^https:\/\//);
    // Only variables the functions declare (functions/adapters/wiring.ts, shared/server/config.ts).
    const known = new Set([...Object.keys(stageConfigSchema), ...Object.keys(serverConfigSchema)]);
    for (const k of Object.keys(cm.data)) expect(known.has(k), `ConfigMap key ${k} is read by no function`).toBe(true);
    expect(Object.values(cm.data).join(' ')).not.toMatch(/password/i);
    for (const stage of STAGES) {
      const c = kservice(stage)!.spec.template.spec.containers[0];
      const mounts: string[] = c.volumeMounts.map((m: any) => m.mountPath);
      expect(mounts.some((m) => cm.data.REGISTRY_CA_FILE.startsWith(`${m}/`)), `${stage} mounts the CA`).toBe(true);
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
      for (const k of Object.keys(env)) expect(known.has(k), `${stage} env ${k} is read by no function`).toBe(true);
      expect(env.REGISTRY_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'ocm-knative-registry-push', key: 'password' });
      expect(env.REGISTRY_PASSWORD.value).toBeUndefined();
      // graceful shutdown fits in the pod's grace period (Knative: timeoutSeconds)
      expect(Number(/^(\d+)s$/.exec(env.SHUTDOWN_TIMEOUT.value)![1])).toBeLessThan(kservice(stage)!.spec.template.spec.timeoutSeconds);
    }
  });

  it('webhook env matches what the webhook reads', () => {
    const dep = (byKind(knative, 'Deployment') as Obj[]).find((d) => d.metadata.name === 'ocm-knative-webhook')!;
    const c = dep.spec.template.spec.containers[0];
    // functions/webhook/main.ts runs its server on import, so read its schema's keys from the source.
    const src = readFileSync(join(repoRoot, 'functions/webhook/main.ts'), 'utf8');
    const block = src.slice(src.indexOf('webhookConfigSchema = {'), src.indexOf('} as const;'));
    const names = [...block.matchAll(/^\s+([A-Z][A-Z0-9_]*): env\./gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(3);
    for (const e of c.env) expect(names, e.name).toContain(e.name);
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    expect(Number(env.PORT)).toBe(c.ports[0].containerPort);
    const mount = c.volumeMounts.find((m: any) => m.name === 'webhook-tls').mountPath;
    expect(env.TLS_CERT_FILE).toBe(`${mount}/tls.crt`);
    expect(env.TLS_KEY_FILE).toBe(`${mount}/tls.key`);
  });
});

describe('eventing', () => {
  it('one Trigger per (stage, kind) of the chain, filtered on type and kind', () => {
    const triggers = byKind(knative, 'Trigger') as Obj[];
    for (const stage of STAGES) {
      for (const kind of CHAIN[stage]) {
        const t = triggers.filter((x) => x.spec.subscriber.ref.name === stage && x.spec.filters?.some((f: any) => f.exact?.kind === kind));
        expect(t, `${stage}/${kind}`).toHaveLength(1);
        expect(t[0]!.spec.filters).toContainEqual({ prefix: { type: 'dev.knative.apiserver.' } });
        expect(t[0]!.spec.broker).toBe('ocm-knative');
      }
    }
    // No trigger beyond the chain, one resync per stage and one registry-deletion Trigger per producing stage.
    const chainCount = Object.values(CHAIN).flat().length;
    expect(triggers).toHaveLength(chainCount + STAGES.length + 3);
  });

  it("zot's manifest deletions go to the three Snapshot-producing stages, and zot sends them to this Broker", () => {
    const triggers = (byKind(knative, 'Trigger') as Obj[]).filter((t) => t.spec.filters?.some((f: any) => f.exact?.type === 'zotregistry.image.deleted'));
    expect(triggers.map((t) => t.spec.subscriber.ref.name).sort()).toEqual(['configure', 'descriptor', 'resource']);
    for (const t of triggers) expect(t.spec.filter.attributes.type).toBe('zotregistry.image.deleted');
    const [broker] = byKind(knative, 'Broker') as Obj[];
    const zot = JSON.parse(readFileSync(join(repoRoot, 'registry/config.json'), 'utf8'));
    expect(zot.extensions.events.enable).toBe(true);
    expect(zot.extensions.events.sinks).toEqual([
      expect.objectContaining({
        type: 'http',
        // the MT channel broker's ingress: /<namespace>/<broker>
        address: `http://broker-ingress.knative-eventing.svc.cluster.local/${broker!.metadata.namespace}/${broker!.metadata.name}`,
      }),
    ]);
  });

  it('delivery: retries with exponential backoff, per-attempt timeout below the Service timeout, dead letters', () => {
    for (const t of byKind(knative, 'Trigger') as Obj[]) {
      const d = t.spec.delivery;
      const svc = kservice(t.spec.subscriber.ref.name);
      expect(svc, t.metadata.name).toBeDefined();
      expect(d.retry, t.metadata.name).toBeGreaterThanOrEqual(1);
      expect(d.backoffPolicy).toBe('exponential');
      expect(isoSeconds(d.backoffDelay)).toBeGreaterThan(0);
      expect(isoSeconds(d.timeout), t.metadata.name).toBeLessThan(svc!.spec.template.spec.timeoutSeconds);
      const isResync = t.spec.filter?.attributes?.type === 'dev.knative.sources.ping';
      if (!isResync) {
        expect(d.deadLetterSink.ref.kind).toBe('Service');
        expect(kservice(d.deadLetterSink.ref.name), 'dead-letter sink exists').toBeDefined();
      }
    }
  });

  it('every stage gets the resync tick of the PingSource, matched without naming the install namespace', () => {
    const [ping] = byKind(knative, 'PingSource') as Obj[];
    // the resync Triggers match the tick by type and an extension the PingSource sets: a kustomize `namespace:`
    // moves the PingSource, and a filter on its `source` (which names the namespace) would then match nothing
    expect(ping!.spec.ceOverrides.extensions).toEqual({ ocmknative: 'resync' });
    for (const stage of STAGES) {
      const t = (byKind(knative, 'Trigger') as Obj[]).filter(
        (x) => x.spec.subscriber.ref.name === stage && x.spec.filter?.attributes?.type === 'dev.knative.sources.ping',
      );
      expect(t, stage).toHaveLength(1);
      expect(t[0]!.spec.filter.attributes).toEqual({ type: 'dev.knative.sources.ping', ...ping!.spec.ceOverrides.extensions });
      expect(t[0]!.spec.filters, `${stage}: SubscriptionsAPI filters would override the attributes`).toBeUndefined();
    }
    for (const t of byKind(knative, 'Trigger') as Obj[]) {
      expect(JSON.stringify([t.spec.filter ?? {}, t.spec.filters ?? []]), `${t.metadata.name} filters name a namespace`).not.toContain(t.metadata.namespace);
    }
  });

  it('the ApiServerSource watches exactly our CRD kinds in Resource mode, with an SA that may list/watch them', () => {
    const [src] = byKind(knative, 'ApiServerSource') as Obj[];
    expect(src!.spec.mode).toBe('Resource');
    const crds = ourCrds();
    expect(crds).toHaveLength(6);
    const expected = crds
      .map((c) => `${c.spec.group}/${c.spec.versions.find((v: any) => v.storage).name}/${c.spec.names.kind}`)
      .sort();
    const watched = src!.spec.resources.map((r: any) => `${r.apiVersion}/${r.kind}`).sort();
    expect(watched).toEqual(expected);
    const role = (byKind(knative, 'ClusterRole') as Obj[]).find((r) => r.metadata.name === 'ocm-knative-apiserversource')!;
    const plurals = crds.map((c) => c.spec.names.plural).sort();
    expect([...role.rules[0].resources].sort()).toEqual(plurals);
    expect([...role.rules[0].verbs].sort()).toEqual(['get', 'list', 'watch']);
    const binding = (byKind(knative, 'ClusterRoleBinding') as Obj[]).find((b) => b.roleRef.name === role.metadata.name)!;
    expect(binding.subjects[0].name).toBe(src!.spec.serviceAccountName);
  });
});

describe('admission webhook', () => {
  it('fails closed, within the API server timeout, on an always-on Deployment (not scale-to-zero)', () => {
    const [vwc] = byKind(knative, 'ValidatingWebhookConfiguration') as Obj[];
    const wh = vwc!.webhooks[0];
    expect(wh.failurePolicy).toBe('Fail');
    expect(wh.timeoutSeconds).toBeLessThanOrEqual(10);
    expect(wh.sideEffects).toBe('None');
    const svcRef = wh.clientConfig.service;
    expect(kservice(svcRef.name), 'webhook must not be a Knative Service').toBeUndefined();
    const svc = (byKind(knative, 'Service', 'v1') as Obj[]).find((s) => s.metadata.name === svcRef.name)!;
    expect(svc).toBeDefined();
    const dep = (byKind(knative, 'Deployment') as Obj[]).find((d) =>
      Object.entries(svc.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
    )!;
    expect(dep, 'a Deployment backs the webhook Service').toBeDefined();
    expect(dep.spec.replicas).toBeGreaterThanOrEqual(2);
    // Matches our user-facing kinds, never Snapshots (written by our own functions) nor status.
    const plurals = new Set(ourCrds().map((c) => c.spec.names.plural));
    for (const r of wh.rules[0].resources) expect(plurals.has(r), r).toBe(true);
    expect(wh.rules[0].resources).not.toContain('snapshots');
  });
});

describe('RBAC', () => {
  const roles = () => byKind(knative, 'ClusterRole') as Obj[];

  it('no wildcards, and no cluster-wide access to Secrets or ConfigMaps', () => {
    const clusterBound = new Set((byKind(knative, 'ClusterRoleBinding') as Obj[]).map((b) => b.roleRef.name));
    for (const r of roles()) {
      for (const rule of r.rules) {
        expect(rule.verbs, r.metadata.name).not.toContain('*');
        expect(rule.resources, r.metadata.name).not.toContain('*');
        expect(rule.apiGroups, r.metadata.name).not.toContain('*');
        if (clusterBound.has(r.metadata.name)) {
          expect(rule.resources, `${r.metadata.name} is bound cluster-wide`).not.toContain('secrets');
          expect(rule.resources, `${r.metadata.name} is bound cluster-wide`).not.toContain('configmaps');
        }
      }
    }
  });

  it('Secrets/ConfigMaps are get-only and bound per tenant namespace', () => {
    const bindings = byKind(tenant, 'RoleBinding') as Obj[];
    expect(bindings.map((b) => b.roleRef.name).sort()).toEqual(['ocm-knative-tenant-config', 'ocm-knative-tenant-credentials']);
    for (const name of ['ocm-knative-tenant-config', 'ocm-knative-tenant-credentials']) {
      const role = roles().find((r) => r.metadata.name === name)!;
      expect(role.rules).toHaveLength(1);
      expect(role.rules[0].verbs).toEqual(['get']);
    }
    const ns = byKind(tenant, 'Namespace')[0]!;
    expect(ns.metadata.labels?.['serverless.ocm.software/enabled']).toBe('true');
  });

  it('publish writes no Snapshots and the webhook writes nothing', () => {
    const publish = roles().find((r) => r.metadata.name === 'ocm-knative-publish')!;
    const snap = publish.rules.find((r: any) => r.resources.includes('snapshots'));
    expect(snap.verbs).toEqual(['get']);
    const webhook = roles().find((r) => r.metadata.name === 'ocm-knative-webhook')!;
    for (const rule of webhook.rules) expect(rule.verbs).toEqual(['get']);
  });
});

describe('registry', () => {
  it('zot: exactly one replica, never two during a rollout, probes with room for a slow start', () => {
    const dep = (byKind(registry, 'Deployment') as Obj[]).find((d) => d.metadata.name === 'zot')!;
    expect(dep.spec.replicas).toBe(1);
    expect(dep.spec.strategy.type).toBe('Recreate');
    const c = dep.spec.template.spec.containers[0];
    expect(c.livenessProbe.httpGet.path).toBe('/livez');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.startupProbe.httpGet.path).toBe('/startupz');
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(300);
    expect(c.env.map((e: any) => e.name)).not.toContain('AWS_CA_BUNDLE');
  });

  it('the ConfigMap carries registry/config.json unchanged, and the bootstrap probes under its root directory', () => {
    const file = JSON.parse(readFileSync(join(repoRoot, 'registry/config.json'), 'utf8'));
    const cm = (byKind(registry, 'ConfigMap') as Obj[]).find((c) => c.metadata.name.startsWith('zot-config'))!;
    expect(JSON.parse(cm.data['config.json'])).toEqual(file);
    const job = byKind(registry, 'Job')[0] as Obj;
    const env = Object.fromEntries(job.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
    expect(`/${env.S3_PREFIX}`).toBe(file.storage.storageDriver.rootdirectory);
    expect(env.S3_BUCKET).toBe(file.storage.storageDriver.bucket);
  });
});

describe('images', () => {
  const FUNCTIONS = [...STAGES, 'webhook'] as const;
  const dockerfile = () => readFileSync(join(repoRoot, 'knative/images/Dockerfile'), 'utf8');
  /** the Dockerfile's STAGE check (its `case ... esac`), run as the build would run it */
  const checkStage = (stage: string | undefined) => {
    const script = /case "\$STAGE" in[\s\S]*?esac/.exec(dockerfile().replace(/\\\n/g, '\n'))?.[0];
    expect(script, 'the Dockerfile checks STAGE').toBeDefined();
    return spawnSync('sh', ['-c', script!], { env: { PATH: process.env.PATH, ...(stage === undefined ? {} : { STAGE: stage }) }, encoding: 'utf8' });
  };

  it('one multi-stage, non-root Dockerfile builds each function from ARG STAGE and runs its esbuild bundle', () => {
    expect(readdirSync(join(repoRoot, 'knative/images')).filter((f) => f.startsWith('Dockerfile')).sort()).toEqual(['Dockerfile', 'Dockerfile.dockerignore']);
    const text = dockerfile();
    const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms.at(-1)).toBe('node:20-slim');
    expect(text.match(/^ARG STAGE$/gm)?.length, 'STAGE declared in the build and the runtime stage').toBe(2);
    // after `npm ci`: the layers before STAGE is declared are shared by all five images
    expect(text.indexOf('ARG STAGE')).toBeGreaterThan(text.indexOf('RUN npm ci'));
    expect(text).toMatch(/npm ci/);
    expect(text).toContain('npm run build -- --entry "main=functions/$STAGE/main.ts" && test -s dist/main.mjs');
    expect(text).toMatch(/^ENTRYPOINT \["node", "\/app\/main\.mjs"\]$/m);
    expect(text).toMatch(/^USER\s+1000:1000$/m);
    // the STAGE the build accepts are exactly the functions build.ts bundles, and each has its main
    expect([...BUILD_STAGES].sort()).toEqual([...FUNCTIONS].sort());
    for (const fn of FUNCTIONS) {
      expect(existsSync(join(repoRoot, 'functions', fn, 'main.ts')), fn).toBe(true);
      expect(checkStage(fn).status, fn).toBe(0);
    }
    for (const bad of [undefined, '', 'Descriptor', 'webhook2']) {
      const r = checkStage(bad);
      expect(r.status, String(bad)).not.toBe(0);
      expect(r.stderr).toContain('--build-arg STAGE=descriptor|resource|configure|publish|webhook');
    }
  });

  it('the manifests name one image per function, and the webhook sets the port its image does not default to', () => {
    const images = (byKind(knative, 'Service', 'serving.knative.dev/v1') as Obj[])
      .filter((s) => (STAGES as readonly string[]).includes(s.metadata.name))
      .map((s) => s.spec.template.spec.containers[0].image);
    expect(images).toHaveLength(STAGES.length);
    for (const img of images) expect(img).toMatch(/^ghcr\.io\/ocm-knative\/(descriptor|resource|configure|publish):/);
    const webhook = (byKind(knative, 'Deployment') as Obj[]).find((d) => d.metadata.name === 'ocm-knative-webhook')!;
    const container = webhook.spec.template.spec.containers[0];
    expect(container.image).toMatch(/^ghcr\.io\/ocm-knative\/webhook:/);
    expect(container.env.find((e: any) => e.name === 'PORT')?.value).toBe('8443');
    expect(dockerfile()).toMatch(/PORT=8080/);
  });
});
