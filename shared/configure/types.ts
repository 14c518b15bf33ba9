/**
 * Rule types of the configure stage. The CRD schema (shared/kube/schema/kinds/configuration.ts) is the one
 * source of truth for `spec.rules`; the resolved form (`Substitution`) is the ConfigureEngine port's.
 */
export type { ConfigurationRule } from '../kube/types.js';
export type { Substitution, ImageTransformation, ConfigureEngine } from '../ports/configure.js';
import type { ArchiveLimits } from '../archive/index.js';
import type { YamlLimits } from './substitute.js';

/** `spec.rules[i].yamlsubst` */
export type YamlSubstRule = NonNullable<import('../kube/types.js').ConfigurationRule['yamlsubst']>;

export interface ConfigureLimits {
  archive?: Partial<ArchiveLimits>;
  yaml?: Partial<YamlLimits>;
}
