import { anyValue, arr, bool, enumOf, obj, str, type Infer } from '../builder.js';
import { conditions, digest, localRef, namedIdentity, objectName, observedGeneration } from '../common.js';
import { defineKind } from '../kind.js';

/** A relative path inside the unpacked archive. */
const filePath = str({
  description: 'path of the file inside the archive (relative; Helm charts: relative to the chart directory)',
  minLength: 1,
  maxLength: 1024,
  rules: [
    {
      rule: "!self.startsWith('/') && !self.matches('(^|/)[.][.](/|$)')",
      message: 'the file path must be relative and stay inside the archive (no leading / and no ..)',
    },
  ],
});

export const TRANSFORMATIONS = ['Image', 'ImageNoTag', 'Registry', 'Repository', 'Tag'] as const;

export const yamlSubstitution = obj(
  {
    source: obj(
      {
        value: anyValue({ description: 'the value to write' }),
        resource: namedIdentity('localization: identity of the component resource whose image reference is written'),
        referencePath: arr(namedIdentity('identity of a component reference'), { maxItems: 16 }),
      },
      {
        description: 'exactly one of value or resource (value is untyped, so CEL cannot see it: the semantic checks enforce this)',
        minProperties: 1,
        rules: [{ rule: '!has(self.referencePath) || has(self.resource)', message: 'referencePath is only used with a resource source' }],
      },
    ),
    target: obj(
      {
        file: obj(
          {
            path: filePath,
            value: str({ description: 'dot path of the value in the file, e.g. image.repository or spec.containers[0].image', minLength: 1, maxLength: 1024 }),
          },
          { required: ['path', 'value'] },
        ),
      },
      { required: ['file'] },
    ),
    transformation: obj(
      { type: enumOf(TRANSFORMATIONS, { description: 'which part of the image reference to write', default: 'Image' }) },
      { description: 'localization: how to transform the image reference' },
    ),
  },
  {
    required: ['source', 'target'],
    rules: [{ rule: '!has(self.transformation) || has(self.source.resource)', message: 'transformation only applies to a resource source (localization)' }],
  },
);

export const goTemplate = obj(
  {
    file: obj({ path: filePath }, { required: ['path'] }),
    data: anyValue({ description: 'data passed to the template' }),
    delimiters: obj(
      { left: str({ minLength: 1, maxLength: 16 }), right: str({ minLength: 1, maxLength: 16 }) },
      { required: ['left', 'right'] },
    ),
  },
  { required: ['file'] },
);

export const configurationRule = obj(
  { yamlsubst: yamlSubstitution, goTemplate },
  { rules: [{ rule: 'has(self.yamlsubst) != has(self.goTemplate)', message: 'a rule needs exactly one of yamlsubst or goTemplate' }] },
);
export type ConfigurationRule = Infer<typeof configurationRule>;

export const configurationSpec = obj(
  {
    target: obj(
      { kind: enumOf(['Resource', 'Configuration'] as const), name: objectName('name of the target, in the same namespace') },
      { description: 'what to configure', required: ['kind', 'name'] },
    ),
    rules: arr(configurationRule, { description: 'substitutions applied in order', minItems: 1, maxItems: 64 }),
    configRef: obj(
      {
        kind: enumOf(['ConfigMap', 'Resource'] as const),
        name: objectName('name of the ConfigMap or Resource, in the same namespace'),
        key: str({ description: 'ConfigMap key holding the rules (YAML list)', maxLength: 253, default: 'rules.yaml' }),
      },
      { description: 'read the rules from a ConfigMap or a config Resource instead', required: ['kind', 'name'] },
    ),
    suspend: bool({ description: 'stop processing this object', default: false }),
  },
  {
    required: ['target'],
    rules: [{ rule: 'has(self.rules) != has(self.configRef)', message: 'set exactly one of rules or configRef' }],
  },
);

export const configurationStatus = obj({
  conditions,
  observedGeneration,
  snapshotRef: localRef('the Snapshot holding the configured result'),
  digest: digest('manifest digest of the configured artifact'),
});

export const ConfigurationKind = defineKind({
  kind: 'Configuration',
  plural: 'configurations',
  singular: 'configuration',
  shortNames: ['ocmconf', 'ocmconfig'],
  description: 'Configuration and localization of a Resource (or of another Configuration).',
  spec: configurationSpec,
  status: configurationStatus,
  rootRules: [
    {
      rule: "!(self.spec.target.kind == 'Configuration' && self.spec.target.name == self.metadata.name)",
      message: 'a Configuration cannot target itself',
      fieldPath: '.spec.target.name',
    },
  ],
  columns: [
    { name: 'Snapshot', type: 'string', jsonPath: '.status.snapshotRef.name' },
    { name: 'Target', type: 'string', jsonPath: '.spec.target.name', priority: 1 },
  ],
});
