import { afterEach, describe, expect, it } from 'vitest';
import { layerText } from '../../../../functions/adapters/layer-text.js';
import { ocmSourceAdapter } from '../../../../functions/adapters/ocm-source.js';
import { loadRules } from '../../../../functions/configure/load-rules.js';
import { createConfigureEngine } from '../../../../shared/configure/index.js';
import { API_VERSION, ObjectFailure, Reason, type ConfigurationObject } from '../../../../shared/ports/index.js';
import { WaitingFor } from '../../../../shared/stagekit/results.js';
import { rig } from '../../stagekit/rig.js';

const NS = 'team-a';
const RULE = { yamlsubst: { source: { value: 2 }, target: { file: { path: 'values.yaml', value: 'replicaCount' } } } };
const PARSED = { file: 'values.yaml', path: 'replicaCount', value: 2 };

const rigs: Array<Awaited<ReturnType<typeof rig>>> = [];
afterEach(async () => Promise.all(rigs.splice(0).map((r) => r.close())));

async function setup() {
  const r = await rig();
  rigs.push(r);
  return { kube: r.kube, deps: { ...r.deps, ocm: ocmSourceAdapter(), engine: createConfigureEngine(), layerText } };
}

const configuration = (spec: ConfigurationObject['spec']): ConfigurationObject => ({
  apiVersion: API_VERSION,
  kind: 'Configuration',
  metadata: { name: 'cfg', namespace: NS },
  spec,
});

describe('loadRules', () => {
  it('takes inline rules, or a ConfigMap key (rules.yaml by default, a list or a document with rules:)', async () => {
    const { kube, deps } = await setup();
    expect(await loadRules(deps, configuration({ target: { kind: 'Resource', name: 'r' }, rules: [RULE] }))).toEqual([PARSED]);
    kube.setConfigMap(NS, 'plain', { 'rules.yaml': '- yamlsubst:\n    source: {value: 2}\n    target: {file: {path: values.yaml, value: replicaCount}}\n' });
    kube.setConfigMap(NS, 'doc', { custom: 'rules:\n  - yamlsubst:\n      source: {value: 2}\n      target: {file: {path: values.yaml, value: replicaCount}}\n' });
    expect(await loadRules(deps, configuration({ target: { kind: 'Resource', name: 'r' }, configRef: { kind: 'ConfigMap', name: 'plain' } }))).toEqual([PARSED]);
    expect(await loadRules(deps, configuration({ target: { kind: 'Resource', name: 'r' }, configRef: { kind: 'ConfigMap', name: 'doc', key: 'custom' } }))).toEqual([PARSED]);
  });

  it('names what is missing: no rules at all, the ConfigMap, its key, or a config Resource not ready yet', async () => {
    const { kube, deps } = await setup();
    kube.setConfigMap(NS, 'cm', { other: '' });
    const failure = (spec: ConfigurationObject['spec']) => loadRules(deps, configuration(spec)).catch((e: unknown) => e as ObjectFailure);
    expect(await failure({ target: { kind: 'Resource', name: 'r' } })).toMatchObject({ reason: Reason.SpecInvalid, message: 'Configuration cfg: set spec.rules or spec.configRef' });
    expect(await failure({ configRef: { kind: 'ConfigMap', name: 'absent' } })).toMatchObject({ reason: Reason.ConfigFetchFailed, message: 'Configuration cfg: ConfigMap absent not found' });
    expect(await failure({ configRef: { kind: 'ConfigMap', name: 'cm' } })).toMatchObject({ reason: Reason.ConfigFetchFailed, message: 'Configuration cfg: ConfigMap cm has no key rules.yaml' });
    const waiting = await failure({ configRef: { kind: 'Resource', name: 'config' } });
    expect(waiting).toBeInstanceOf(WaitingFor);
    expect(waiting).toMatchObject({ reason: Reason.ConfigFetchFailed, message: 'Resource config not found' });
  });
});
