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

/**
 * Text out of a fetched layer (a LocalBlob on disk), so the stages read no files and unpack no archives themselves.
 * Adapter: functions/adapters/layer-text.ts.
 */
export interface LayerText {
  /** the whole layer as UTF-8 (a descriptor Snapshot's `{components: [...]}` YAML) */
  whole(layer: LocalBlob): Promise<string>;
  /**
   * The one regular file in a tar(+gzip) layer (docs/design.md §6 wraps a non-archive blob in a tar under its resource
   * name), or `rules.yaml` / `config.yaml` / `rules.yml` when there are several; at most 1 MiB. Throws a plain Error
   * naming the problem otherwise (the stage's step gives it its reason).
   */
  singleFile(layer: LocalBlob): Promise<string>;
}
