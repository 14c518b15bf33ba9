import { ObjectFailure, Reason, type ConfigurationObject, type SnapshotObject } from '../../shared/ports/index.js';
import { fetchInputLayer, readySnapshotOf } from '../../shared/stagekit/dependencies.js';
import { step } from '../../shared/stagekit/step.js';
import type { ConfigureDeps } from './deps.js';
import { parseRules, rulesFromText, type ParsedRule } from './rules.js';

/** The Configuration's rules: inline, from a ConfigMap key, or from the one file of a config Resource. */
export async function loadRules(deps: ConfigureDeps, obj: ConfigurationObject): Promise<ParsedRule[]> {
  const { kube } = deps;
  const name = obj.metadata.name;
  const ref = obj.spec?.configRef;
  if (obj.spec?.rules !== undefined) return parseRules(obj.spec.rules, `Configuration ${name}: spec.rules`);
  if (!ref) throw new ObjectFailure(Reason.SpecInvalid, `Configuration ${name}: set spec.rules or spec.configRef`);
  if (ref.kind === 'ConfigMap') {
    const key = ref.key ?? 'rules.yaml';
    const cm = await step(Reason.ConfigFetchFailed, () => kube.getConfigMap(obj.metadata.namespace, ref.name));
    if (!cm) throw new ObjectFailure(Reason.ConfigFetchFailed, `Configuration ${name}: ConfigMap ${ref.name} not found`);
    const text = cm[key];
    if (text === undefined) throw new ObjectFailure(Reason.ConfigFetchFailed, `Configuration ${name}: ConfigMap ${ref.name} has no key ${key}`);
    return parseRules(rulesFromText(text, `ConfigMap ${ref.name} key ${key}`), `ConfigMap ${ref.name} key ${key}`);
  }
  if (ref.kind === 'Resource') {
    const { snapshot } = await readySnapshotOf(kube, 'Resource', obj.metadata.namespace, ref.name, Reason.ConfigFetchFailed);
    const text = await step(Reason.ConfigFetchFailed, () => readSingleFile(deps, snapshot));
    return parseRules(rulesFromText(text, `config Resource ${ref.name}`), `config Resource ${ref.name}`);
  }
  throw new ObjectFailure(Reason.SpecInvalid, `Configuration ${name}: spec.configRef.kind must be ConfigMap or Resource`);
}

/** The text of a config Resource: its layer is a tar+gzip holding one file (docs/design.md §6 wraps non-archives). */
async function readSingleFile(deps: ConfigureDeps, snapshot: SnapshotObject): Promise<string> {
  const blob = await fetchInputLayer(deps.kube, deps.store, snapshot, Reason.ConfigFetchFailed);
  try {
    return await deps.layerText.singleFile(blob);
  } finally {
    await blob.dispose();
  }
}
