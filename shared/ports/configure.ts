import type { LocalBlob } from './artifacts.js';

export type ImageTransformation = 'Image' | 'ImageNoTag' | 'Registry' | 'Repository' | 'Tag';

/** One concrete substitution, applied in order. */
export type Substitution =
  | { file: string; path: string; value: unknown }
  | { file: string; path: string; image: string; transformation: ImageTransformation };

/** The configure transform: safe unpack, substitutions in order, deterministic repack (shared/configure). */
export interface ConfigureEngine {
  /**
   * `input` is a snapshot layer (tar+gzip). Returns the repacked layer. Errors in the substitutions (missing file,
   * a path that cannot be set, unsafe archive) are ObjectFailure(ConfigurationFailed); I/O problems are thrown as is.
   */
  apply(input: LocalBlob, substitutions: Substitution[], opts: { helm: boolean }): Promise<LocalBlob>;
}
