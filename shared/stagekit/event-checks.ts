import { FLUX_SOURCE_API_VERSION, OUR_KINDS, isOurKind, type Hint } from '../ports/index.js';

/**
 * An event about a kind that is not ours (another API group, or a kind our group does not have) is a problem of the
 * event itself: no Trigger of ours sends it, and no retry would help (docs/design.md §4: 422).
 */
export function foreignKindProblem(hint: Hint, apiVersion: string): string | undefined {
  if (hint.type !== 'object') return undefined;
  const { kind, apiVersion: av, namespace, name } = hint.ref;
  const what = `event for ${av ?? '(no apiVersion)'} ${kind} ${namespace}/${name}`;
  // the Flux OCIRepositories we create are known (skipped, not rejected): in-process buses see every change
  if (kind === 'OCIRepository' && (av === undefined || av === FLUX_SOURCE_API_VERSION)) return undefined;
  if (!isOurKind(kind)) return `${what}: kind ${kind} is not one of ours (${OUR_KINDS.join(', ')})`;
  if (av !== undefined && av !== apiVersion) return `${what}: apiVersion ${av} is not ${apiVersion}`;
  return undefined;
}
